use tickwire_protocol::glam::{Vec2, Vec3};
use tickwire_protocol::typed::Entity;

#[derive(Entity)]
struct Ship {
    #[tw(position, range(0.0, 100.0), precision = 0.5)]
    pos: Vec2,
    #[tw(position, range(0.0, 100.0), precision = 0.5)]
    aim: Vec3,
}

fn main() {}
