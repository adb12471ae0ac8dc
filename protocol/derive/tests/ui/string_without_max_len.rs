use tickwire_protocol::typed::RoomState;

#[derive(RoomState)]
struct Room {
    motd: String,
}

fn main() {}
