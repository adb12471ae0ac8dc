use tickwire_protocol::glam::Vec2;
use tickwire_protocol::typed::{Entity, Input};

#[derive(Input)]
struct Steer {
    #[tw(position, range(-1.0, 1.0), precision = 0.1)]
    aim: Vec2,
    #[tw(precision = 0.1)]
    fire: bool,
    #[tw(bits = 8)]
    delta: i16,
}

#[derive(Entity)]
struct Marker {
    #[tw(bits = 8)]
    hp: u8,
}

fn main() {}
