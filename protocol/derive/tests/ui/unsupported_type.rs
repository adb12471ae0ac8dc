use tickwire_protocol::glam::Vec2;
use tickwire_protocol::typed::Entity;

#[derive(Entity)]
struct Ship {
    #[tw(position, range(0.0, 100.0), precision = 0.5)]
    pos: Vec2,
    cargo: Vec<u8>,
    speed: f64,
}

fn main() {}
