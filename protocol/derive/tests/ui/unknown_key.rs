use tickwire_protocol::typed::RoomState;

#[derive(RoomState)]
struct Room {
    #[tw(bits = 8, default = 3)]
    round: u8,
}

fn main() {}
