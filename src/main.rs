//! The `tickwire` binary: the arena demo through the library's command line (`serve`, the
//! default, and `bots`).

fn main() -> std::process::ExitCode {
    tickwire::cli::run(tickwire::arena::ArenaFactory)
}
