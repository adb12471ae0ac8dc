use tickwire_protocol::typed::Input;

#[derive(Input)]
struct Steer {
    turn: f32,
    #[tw(precision = 0.1)]
    throttle: f32,
}

fn main() {}
