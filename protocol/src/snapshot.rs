//! The replicated world at one tick, as quantized words.

use serde::Serialize;

use crate::layout::{KindLayout, Layout, Value};

/// Entity id: stable for the entity's life, unique within a room.
pub type EntityId = u32;

/// The world (or one client's view of it) at one tick: room fields plus entities sorted by id,
/// each a run of quantized words laid out by its [`KindLayout`].
///
/// Buffers are kept across [`Snapshot::clear`], so a snapshot rebuilt every tick allocates only
/// while it grows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Tick this state belongs to.
    pub tick: u32,
    room: Vec<u32>,
    ids: Vec<EntityId>,
    kinds: Vec<u16>,
    /// `starts[i]..starts[i + 1]` are entity `i`'s words; one more entry than entities.
    starts: Vec<u32>,
    words: Vec<u32>,
}

/// Entity ids must be pushed in strictly increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("entity {id} pushed after entity {last}: ids must increase")]
pub struct OrderError {
    /// The id pushed.
    pub id: EntityId,
    /// The last id already present.
    pub last: EntityId,
}

impl Snapshot {
    /// An empty snapshot with zeroed room fields.
    pub fn new(layout: &Layout) -> Self {
        let mut s = Self::default();
        s.clear(layout, 0);
        s
    }

    /// Empties the snapshot for `tick`, keeping its buffers; room fields are zeroed.
    pub fn clear(&mut self, layout: &Layout, tick: u32) {
        self.tick = tick;
        self.room.clear();
        self.room.resize(layout.room.words, 0);
        self.ids.clear();
        self.kinds.clear();
        self.starts.clear();
        self.starts.push(0);
        self.words.clear();
    }

    /// Empties the entities and sets the room words to `room`, keeping the buffers and the
    /// tick: for decoders and view copies that rebuild a snapshot from parts.
    pub(crate) fn reset_with_room(&mut self, room: &[u32]) {
        self.room.clear();
        self.room.extend_from_slice(room);
        self.ids.clear();
        self.kinds.clear();
        self.starts.clear();
        self.starts.push(0);
        self.words.clear();
    }

    /// Copies `other` into `self`, reusing `self`'s buffers.
    pub fn copy_from(&mut self, other: &Snapshot) {
        self.clone_from(other);
    }

    /// Room field words.
    #[inline]
    pub fn room(&self) -> &[u32] {
        &self.room
    }

    /// Room field words, for writing with the room's [`FieldLayout`](crate::FieldLayout)s.
    #[inline]
    pub fn room_mut(&mut self) -> &mut [u32] {
        &mut self.room
    }

    /// Number of entities.
    #[inline]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// No entities.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Entity ids in increasing order.
    #[inline]
    pub fn ids(&self) -> &[EntityId] {
        &self.ids
    }

    /// Entity kinds, in id order.
    #[inline]
    pub(crate) fn kinds(&self) -> &[u16] {
        &self.kinds
    }

    /// Where each entity's words start in [`Snapshot::words`], plus one entry for the end.
    #[inline]
    pub(crate) fn starts(&self) -> &[u32] {
        &self.starts
    }

    /// Every entity's words, back to back in id order.
    #[inline]
    pub(crate) fn words(&self) -> &[u32] {
        &self.words
    }

    /// The `i`-th entity (in id order): id, kind and words.
    #[inline]
    pub fn entity(&self, i: usize) -> (EntityId, u16, &[u32]) {
        let w = &self.words[self.starts[i] as usize..self.starts[i + 1] as usize];
        (self.ids[i], self.kinds[i], w)
    }

    /// Looks an entity up by id.
    pub fn find(&self, id: EntityId) -> Option<(u16, &[u32])> {
        let i = self.ids.binary_search(&id).ok()?;
        let (_, kind, w) = self.entity(i);
        Some((kind, w))
    }

    /// Entities in id order.
    pub fn iter(&self) -> impl Iterator<Item = (EntityId, u16, &[u32])> + '_ {
        (0..self.len()).map(|i| self.entity(i))
    }

    /// Appends an entity with zeroed words and returns them for the kind's field setters.
    ///
    /// Panics if `kind` is not in the layout (a programming error on the server side; decoders
    /// check kinds before calling this).
    pub fn push(
        &mut self,
        layout: &Layout,
        id: EntityId,
        kind: u16,
    ) -> Result<&mut [u32], OrderError> {
        let words = layout.kinds[usize::from(kind)].words;
        self.push_words(id, kind, words)
    }

    pub(crate) fn push_words(
        &mut self,
        id: EntityId,
        kind: u16,
        n: usize,
    ) -> Result<&mut [u32], OrderError> {
        if let Some(&last) = self.ids.last()
            && id <= last
        {
            return Err(OrderError { id, last });
        }
        self.ids.push(id);
        self.kinds.push(kind);
        let start = self.words.len();
        self.words.resize(start + n, 0);
        self.starts.push(self.words.len() as u32);
        Ok(&mut self.words[start..])
    }

    /// Appends a copy of entity `i` of `other`, keeping id order.
    pub fn push_from(&mut self, other: &Snapshot, i: usize) -> Result<(), OrderError> {
        let (id, kind, src) = other.entity(i);
        if let Some(&last) = self.ids.last()
            && id <= last
        {
            return Err(OrderError { id, last });
        }
        self.ids.push(id);
        self.kinds.push(kind);
        self.words.extend_from_slice(src);
        self.starts.push(self.words.len() as u32);
        Ok(())
    }

    /// Appends copies of the entities of `other` at `indices` (increasing), e.g. one client's
    /// view of the world. Stops at the first index out of id order.
    pub fn extend_from(&mut self, other: &Snapshot, indices: &[u32]) -> Result<(), OrderError> {
        self.ids.reserve(indices.len());
        self.kinds.reserve(indices.len());
        self.starts.reserve(indices.len());
        for &i in indices {
            self.push_from(other, i as usize)?;
        }
        Ok(())
    }

    /// The snapshot in plain form (ids, kind names, field values), for tooling and tests.
    pub fn to_plain(&self, layout: &Layout) -> PlainSnapshot {
        let schema = layout.schema();
        let fields = |kl: &KindLayout, defs: &[crate::schema::FieldDef], words: &[u32]| {
            kl.fields
                .iter()
                .zip(defs)
                .map(|(f, d)| (f.name.clone(), f.value(d, words)))
                .collect()
        };
        PlainSnapshot {
            tick: self.tick,
            room: fields(&layout.room, &schema.room, &self.room),
            entities: self
                .iter()
                .map(|(id, kind, words)| {
                    let kl = &layout.kinds[usize::from(kind)];
                    PlainEntity {
                        id,
                        kind: kl.name.clone(),
                        fields: fields(kl, &schema.kinds[usize::from(kind)].fields, words),
                    }
                })
                .collect(),
        }
    }
}

/// A snapshot as names and values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlainSnapshot {
    /// Tick.
    pub tick: u32,
    /// Room fields by name, in schema order.
    pub room: Vec<(String, Value)>,
    /// Entities in id order.
    pub entities: Vec<PlainEntity>,
}

/// One entity as names and values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlainEntity {
    /// Entity id.
    pub id: EntityId,
    /// Kind name.
    pub kind: String,
    /// Fields by name, in schema order.
    pub fields: Vec<(String, Value)>,
}
