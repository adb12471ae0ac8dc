//! The game API: what a game author implements.
//!
//! A [`GameFactory`] declares the replicated [`Schema`] once and creates one [`Game`] per room.
//! The room's shard thread owns the game and calls it every tick with that tick's validated
//! inputs; the game never sees sockets, clocks or transports. Time is an argument
//! ([`StepContext::tick`], [`StepContext::dt`]), so a game can be stepped faster than real time
//! in tests.
//!
//! A game declares its types with the derives of [`crate::typed`] and reads and writes them
//! whole: [`PlayerInput::value`] decodes an input, [`WorldWriter::write_room`] and
//! [`WorldWriter::write_entity`] store the room and an entity (its interest position taken from
//! its `#[tw(position)]` field). The field-index API ([`PlayerInput::field`],
//! [`WorldWriter::room`], [`WorldWriter::entity`]) stays for run-time schemas built with
//! [`Schema::builder`].

use glam::{Quat, Vec2, Vec3};
use tickwire_protocol::snapshot::OrderError;
use tickwire_protocol::typed::{Entity, Input, RoomState};
use tickwire_protocol::{EntityId, FieldLayout, KindLayout, Layout, Schema, Snapshot, ValueError};

/// A client's id, unique on this server for its session (kept across resumes).
pub type ClientId = u32;

/// Creates games: one per room.
pub trait GameFactory: Send + Sync + 'static {
    /// The schema of every room's state and inputs. Called once at startup.
    fn schema(&self) -> Schema;

    /// A new game for room `room`. `seed` is random per room; use it for spawn points and any
    /// other randomness so a run can be replayed.
    fn create(&self, room: &str, seed: u64) -> Box<dyn Game>;
}

/// One room's game logic, owned by its shard thread.
pub trait Game: Send + 'static {
    /// A client joined; return the entity it controls, if any.
    fn join(&mut self, client: ClientId) -> Option<EntityId>;

    /// A client left for good (or its resume grace period ran out).
    fn leave(&mut self, client: ClientId);

    /// Advances the game by one tick. `inputs` are the inputs due at this tick, already
    /// decoded and range-checked against the schema, oldest first per client.
    fn step(&mut self, ctx: &StepContext<'_>, inputs: &[PlayerInput<'_>]);

    /// Writes the replicated state: room fields, then every entity in increasing id order with
    /// its 2D position for interest management.
    fn write_world(&self, out: &mut WorldWriter<'_>);

    /// Where `client` sees from, for interest management; `None` sees the whole room.
    fn view_center(&self, client: ClientId) -> Option<Vec2>;
}

/// What a tick knows besides the inputs.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// The tick being simulated.
    pub tick: u32,
    /// Seconds per tick.
    pub dt: f32,
    /// The compiled schema, to read input fields.
    pub layout: &'a Layout,
}

/// One input of one client.
#[derive(Debug, Clone, Copy)]
pub struct PlayerInput<'a> {
    /// Who sent it.
    pub client: ClientId,
    /// Its sequence number.
    pub seq: u32,
    /// Quantized fields; read them with [`PlayerInput::field`].
    pub words: &'a [u32],
    /// The input layout.
    pub layout: &'a KindLayout,
}

impl<'a> PlayerInput<'a> {
    /// Decodes the input as `T`, the schema's input type. An error means `T` is not the type
    /// the schema's input was declared with.
    pub fn value<T: Input>(&self) -> Result<T, ValueError> {
        T::read_words(self.layout, self.words)
    }

    /// Reads input field `i` (in schema order) through its typed getters.
    pub fn field(&self, i: usize) -> FieldRef<'a> {
        FieldRef {
            layout: &self.layout.fields[i],
            words: self.words,
        }
    }
}

/// A field of an input, to read.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef<'a> {
    layout: &'a FieldLayout,
    words: &'a [u32],
}

impl FieldRef<'_> {
    /// Reads an `F32` field.
    pub fn f32(&self) -> f32 {
        self.layout.get_f32(self.words).unwrap_or_default()
    }
    /// Reads a `Vec2` field.
    pub fn vec2(&self) -> Vec2 {
        self.layout.get_vec2(self.words).unwrap_or_default()
    }
    /// Reads an `Int`, `Bool` or `Enum` field as an integer.
    pub fn int(&self) -> i64 {
        self.layout.get_int(self.words).unwrap_or_default()
    }
    /// Reads a `Bool` field.
    pub fn bool(&self) -> bool {
        self.layout.get_bool(self.words).unwrap_or_default()
    }
}

/// Collects a game's replicated state for one tick.
#[derive(Debug)]
pub struct WorldWriter<'a> {
    pub(crate) layout: &'a Layout,
    pub(crate) snapshot: &'a mut Snapshot,
    pub(crate) positions: &'a mut Vec<Vec2>,
}

impl WorldWriter<'_> {
    /// The room fields' words; write them with the room's [`FieldLayout`]s.
    pub fn room(&mut self) -> RoomWriter<'_> {
        RoomWriter {
            layout: &self.layout.room,
            words: self.snapshot.room_mut(),
        }
    }

    /// Adds an entity of kind `kind` at `at`. Ids must increase from call to call.
    pub fn entity(
        &mut self,
        id: EntityId,
        kind: u16,
        at: Vec2,
    ) -> Result<EntityWriter<'_>, OrderError> {
        let words = self.snapshot.push(self.layout, id, kind)?;
        self.positions.push(at);
        Ok(EntityWriter {
            layout: &self.layout.kinds[usize::from(kind)],
            words,
        })
    }
}

/// Why [`WorldWriter::write_entity`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The schema has no entity kind of this name.
    #[error("the schema has no entity kind `{0}`")]
    UnknownKind(&'static str),
    /// The entity's id is not above the previous one's.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// A value has no quantized form, or the kind's fields are not the type's.
    #[error(transparent)]
    Value(#[from] ValueError),
}

impl WorldWriter<'_> {
    /// Stores the room state. Returns how many fields were clamped to their range.
    pub fn write_room<R: RoomState>(&mut self, room: &R) -> Result<u32, ValueError> {
        room.write_words(&self.layout.room, self.snapshot.room_mut())
    }

    /// Adds entity `id` of kind `E` at its `#[tw(position)]`. Ids must increase from call to
    /// call. Returns how many fields were clamped to their range. On a value error the entity
    /// is already added, with the fields before the bad one written.
    pub fn write_entity<E: Entity>(&mut self, id: EntityId, entity: &E) -> Result<u32, WriteError> {
        let kind = self
            .layout
            .kind_id(E::NAME)
            .ok_or(WriteError::UnknownKind(E::NAME))?;
        let layout = &self.layout.kinds[usize::from(kind)];
        let words = self.snapshot.push(self.layout, id, kind)?;
        self.positions.push(entity.position());
        Ok(entity.write_words(layout, words)?)
    }
}

/// Writes the room fields.
#[derive(Debug)]
pub struct RoomWriter<'a> {
    layout: &'a KindLayout,
    words: &'a mut [u32],
}

/// Writes one entity's fields.
#[derive(Debug)]
pub struct EntityWriter<'a> {
    layout: &'a KindLayout,
    words: &'a mut [u32],
}

macro_rules! field_setters {
    ($ty:ident: $($(#[$doc:meta])* $name:ident($v:ty) => $set:ident;)*) => {
        impl<'a> $ty<'a> {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, i: usize, v: $v) -> Result<&mut Self, ValueError> {
                    let layout: &'a KindLayout = self.layout;
                    let field = layout.fields.get(i).ok_or(ValueError::NoSuchField)?;
                    field.$set(self.words, v)?;
                    Ok(self)
                }
            )*
        }
    };
    ($($ty:ident),*) => {
        $(field_setters! { $ty:
            /// Sets `F32` field `i`, clamped to its range.
            f32(f32) => set_f32;
            /// Sets `Vec2` field `i`, clamped to its range.
            vec2(Vec2) => set_vec2;
            /// Sets `Vec3` field `i`, clamped to its range.
            vec3(Vec3) => set_vec3;
            /// Sets `Quat` field `i`.
            quat(Quat) => set_quat;
            /// Sets `Int`, `Bool` or `Enum` field `i`.
            int(i64) => set_int;
            /// Sets `Bool` field `i`.
            bool(bool) => set_bool;
            /// Sets `Str` field `i`.
            str(&str) => set_str;
        })*
    };
}

field_setters!(EntityWriter, RoomWriter);
