//! TypeScript generated from a [`Schema`]: the schema as data, its protocol hash, the compiled
//! codec tables, and typed interfaces and ids for every kind, the room and the input.
//!
//! The TypeScript SDK (`client-ts/`) keeps the output in `src/generated/`; a test of the
//! `tickwire` crate fails when those files differ from what [`generate_ts`] writes for the
//! arena schema. The runtime compiles the schema it receives in the welcome with the same
//! rules as [`Layout::new`]; the tables written here let the SDK's tests check that both
//! compilers agree.
//!
//! ```
//! use tickwire_protocol::{Schema, gen_ts::generate_ts};
//!
//! let schema = Schema::builder("demo")
//!     .kind("ball", |k| k.vec2("pos", 0.0, 100.0, 0.5))
//!     .build()
//!     .unwrap();
//! let files = generate_ts(&schema, "make generate").unwrap();
//! assert!(files.iter().any(|f| f.name == "types.ts" && f.contents.contains("export interface Ball")));
//! ```

use std::fmt::Write as _;

use crate::error::SchemaError;
use crate::layout::{FieldCodec, KindLayout, Layout};
use crate::schema::{FieldDef, FieldType, Schema};

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// File name inside the generated directory, e.g. `schema.ts`.
    pub name: &'static str,
    /// Full contents.
    pub contents: String,
}

/// Writes the generated TypeScript for `schema`. `regenerate` is the command that rewrites
/// the files, quoted in their header.
pub fn generate_ts(schema: &Schema, regenerate: &str) -> Result<Vec<GeneratedFile>, SchemaError> {
    let layout = Layout::new(schema)?;
    let header = format!(
        "// @generated from the Rust schema IR of \"{}\" by tickwire-protocol (gen_ts.rs).\n\
         // Do not edit: regenerate with `{regenerate}`.\n",
        schema.name.replace(['\n', '\r'], " ")
    );
    Ok(vec![
        GeneratedFile {
            name: "schema.ts",
            contents: schema_file(&header, schema, &layout),
        },
        GeneratedFile {
            name: "types.ts",
            contents: types_file(&header, schema),
        },
        GeneratedFile {
            name: "index.ts",
            contents: format!(
                "{header}\nexport * from './schema.js';\nexport * from './types.js';\n"
            ),
        },
    ])
}

/// A JavaScript string literal.
fn js_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An f32 as the JavaScript number holding exactly its value.
fn js_f32(v: f32) -> String {
    format!("{:?}", f64::from(v))
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A property key: bare when it is an identifier, quoted otherwise.
fn js_key(s: &str) -> String {
    if is_ident(s) { s.to_owned() } else { js_str(s) }
}

/// `player_state` → `PlayerState`; names that give no identifier get a prefix.
fn pascal(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "Kind");
    }
    out
}

fn field_type_literal(ty: &FieldType) -> String {
    let float = |tag: &str, min: f32, max: f32, precision: f32, delta_bits: u8| {
        format!(
            "{{ type: '{tag}', min: {}, max: {}, precision: {}, deltaBits: {delta_bits} }}",
            js_f32(min),
            js_f32(max),
            js_f32(precision)
        )
    };
    match ty {
        FieldType::F32 {
            min,
            max,
            precision,
            delta_bits,
        } => float("f32", *min, *max, *precision, *delta_bits),
        FieldType::Vec2 {
            min,
            max,
            precision,
            delta_bits,
        } => float("vec2", *min, *max, *precision, *delta_bits),
        FieldType::Vec3 {
            min,
            max,
            precision,
            delta_bits,
        } => float("vec3", *min, *max, *precision, *delta_bits),
        FieldType::Int {
            min,
            max,
            delta_bits,
        } => format!("{{ type: 'int', min: {min}n, max: {max}n, deltaBits: {delta_bits} }}"),
        FieldType::Bool => "{ type: 'bool' }".to_owned(),
        FieldType::Enum { variants } => {
            let v: Vec<String> = variants.iter().map(|v| js_str(v)).collect();
            format!("{{ type: 'enum', variants: [{}] }}", v.join(", "))
        }
        FieldType::Quat { bits } => format!("{{ type: 'quat', bits: {bits} }}"),
        FieldType::Str { max_len } => format!("{{ type: 'str', maxLen: {max_len} }}"),
    }
}

fn fields_literal(out: &mut String, indent: &str, fields: &[FieldDef]) {
    if fields.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push_str("[\n");
    for f in fields {
        let _ = writeln!(
            out,
            "{indent}  {{ name: {}, ty: {} }},",
            js_str(&f.name),
            field_type_literal(&f.ty)
        );
    }
    let _ = write!(out, "{indent}]");
}

fn codec_literal(codec: &FieldCodec) -> String {
    match *codec {
        FieldCodec::Numeric {
            bits,
            max,
            comps,
            delta_bits,
            ..
        } => format!(
            "{{ type: 'numeric', bits: {bits}, max: {max}, comps: {comps}, deltaBits: {delta_bits} }}"
        ),
        FieldCodec::Quat { bits } => format!("{{ type: 'quat', bits: {bits} }}"),
        FieldCodec::Str { max_len, len_bits } => {
            format!("{{ type: 'str', maxLen: {max_len}, lenBits: {len_bits} }}")
        }
    }
}

fn kind_table(out: &mut String, indent: &str, kl: &KindLayout) {
    let _ = writeln!(out, "{{");
    let _ = writeln!(out, "{indent}  name: {},", js_str(&kl.name));
    let _ = writeln!(out, "{indent}  words: {},", kl.words);
    if kl.fields.is_empty() {
        let _ = writeln!(out, "{indent}  fields: [],");
    } else {
        let _ = writeln!(out, "{indent}  fields: [");
        for f in &kl.fields {
            let _ = writeln!(
                out,
                "{indent}    {{ name: {}, offset: {}, words: {}, codec: {} }},",
                js_str(&f.name),
                f.offset,
                f.words,
                codec_literal(&f.codec)
            );
        }
        let _ = writeln!(out, "{indent}  ],");
    }
    let _ = write!(out, "{indent}}}");
}

fn schema_file(header: &str, schema: &Schema, layout: &Layout) -> String {
    let mut s = String::from(header);
    s.push_str(
        "\nimport type { LayoutTable, Protocol, Schema } from '../schema.js';\n\
         import type { Types } from './types.js';\n\n",
    );
    let _ = writeln!(
        s,
        "/** The schema, exactly as the server sends it in the welcome. */"
    );
    let _ = writeln!(s, "export const SCHEMA: Schema = {{");
    let _ = writeln!(s, "  name: {},", js_str(&schema.name));
    if schema.kinds.is_empty() {
        let _ = writeln!(s, "  kinds: [],");
    } else {
        let _ = writeln!(s, "  kinds: [");
        for k in &schema.kinds {
            let _ = write!(
                s,
                "    {{\n      name: {},\n      fields: ",
                js_str(&k.name)
            );
            fields_literal(&mut s, "      ", &k.fields);
            let _ = writeln!(s, ",\n    }},");
        }
        let _ = writeln!(s, "  ],");
    }
    s.push_str("  room: ");
    fields_literal(&mut s, "  ", &schema.room);
    s.push_str(",\n  input: ");
    fields_literal(&mut s, "  ", &schema.input);
    s.push_str(",\n};\n\n");
    let hash = layout.protocol_hash();
    let _ = writeln!(
        s,
        "/** FNV-1a 64 of the wire version and the schema's postcard bytes (PROTOCOL.md section 10). */"
    );
    let _ = writeln!(s, "export const PROTOCOL_HASH = 0x{hash:016x}n;\n");
    let _ = writeln!(
        s,
        "/** The schema compiled for the codec, as the Rust layout compiler sees it. */"
    );
    let _ = writeln!(s, "export const LAYOUT_TABLE: LayoutTable = {{");
    let _ = writeln!(s, "  kindBits: {},", layout.kind_bits);
    if layout.kinds.is_empty() {
        let _ = writeln!(s, "  kinds: [],");
    } else {
        let _ = writeln!(s, "  kinds: [");
        for kl in &layout.kinds {
            s.push_str("    ");
            kind_table(&mut s, "    ", kl);
            s.push_str(",\n");
        }
        let _ = writeln!(s, "  ],");
    }
    s.push_str("  room: ");
    kind_table(&mut s, "  ", &layout.room);
    s.push_str(",\n  input: ");
    kind_table(&mut s, "  ", &layout.input);
    s.push_str(",\n};\n\n");
    let _ = writeln!(
        s,
        "/** Everything a client built for this schema needs; pass it to `connect`. */"
    );
    let _ = writeln!(
        s,
        "export const PROTOCOL: Protocol<Types> = {{ schema: SCHEMA, protocolHash: PROTOCOL_HASH, layout: LAYOUT_TABLE }};"
    );
    s
}

fn ts_type(ty: &FieldType) -> String {
    match ty {
        FieldType::F32 { .. } | FieldType::Int { .. } => "number".to_owned(),
        FieldType::Bool => "boolean".to_owned(),
        FieldType::Enum { variants } => {
            let v: Vec<String> = variants.iter().map(|v| js_str(v)).collect();
            v.join(" | ")
        }
        FieldType::Vec2 { .. } => "Vec2".to_owned(),
        FieldType::Vec3 { .. } => "Vec3".to_owned(),
        FieldType::Quat { .. } => "Quat".to_owned(),
        FieldType::Str { .. } => "string".to_owned(),
    }
}

fn ts_doc(ty: &FieldType) -> String {
    match ty {
        FieldType::F32 {
            min,
            max,
            precision,
            ..
        } => {
            format!("`F32` in [{min}, {max}], step at most {precision}.")
        }
        FieldType::Vec2 {
            min,
            max,
            precision,
            ..
        } => {
            format!("`Vec2`, each component in [{min}, {max}], step at most {precision}.")
        }
        FieldType::Vec3 {
            min,
            max,
            precision,
            ..
        } => {
            format!("`Vec3`, each component in [{min}, {max}], step at most {precision}.")
        }
        FieldType::Int { min, max, .. } => format!("`Int` in [{min}, {max}]."),
        FieldType::Bool => "`Bool`.".to_owned(),
        FieldType::Enum { .. } => "`Enum`: the variant's name.".to_owned(),
        FieldType::Quat { bits } => format!("`Quat` `[x, y, z, w]`, {bits} bits per component."),
        FieldType::Str { max_len } => format!("`Str` of at most {max_len} UTF-8 bytes."),
    }
}

/// `export const {name} = { key: 0, ... } as const;`: each key's index, then a blank line.
fn index_const<'a>(s: &mut String, name: &str, keys: impl IntoIterator<Item = &'a str>) {
    let _ = write!(s, "export const {name} = {{");
    let mut n = 0;
    for key in keys {
        let _ = write!(s, "{} {}: {n}", if n == 0 { "" } else { "," }, js_key(key));
        n += 1;
    }
    let _ = writeln!(s, "{}}} as const;\n", if n == 0 { "" } else { " " });
}

fn interface(s: &mut String, doc: &str, name: &str, fields: &[FieldDef]) {
    let _ = writeln!(s, "/** Field indexes of {doc}, in wire order. */");
    index_const(
        s,
        &format!("{name}Field"),
        fields.iter().map(|f| f.name.as_str()),
    );
    let _ = writeln!(s, "/** Decoded values of {doc}. */");
    if fields.is_empty() {
        let _ = writeln!(s, "export type {name} = Record<string, never>;\n");
        return;
    }
    let _ = writeln!(s, "export interface {name} {{");
    for f in fields {
        let _ = writeln!(s, "  /** {} */", ts_doc(&f.ty));
        let _ = writeln!(s, "  {}: {};", js_key(&f.name), ts_type(&f.ty));
    }
    let _ = writeln!(s, "}}\n");
}

fn types_file(header: &str, schema: &Schema) -> String {
    let mut s = String::from(header);
    s.push_str("\nimport type { Quat, Vec2, Vec3 } from '../values.js';\n\n");
    let _ = writeln!(
        s,
        "/** Entity kind ids (the kind's index in the schema). */"
    );
    index_const(&mut s, "Kind", schema.kinds.iter().map(|k| k.name.as_str()));
    let _ = writeln!(s, "/** Names of the entity kinds. */");
    let _ = writeln!(s, "export type KindName = keyof typeof Kind;\n");
    let mut kind_names = Vec::new();
    for k in &schema.kinds {
        let name = pascal(&k.name);
        interface(&mut s, &format!("a `{}` entity", k.name), &name, &k.fields);
        kind_names.push((k.name.clone(), name));
    }
    interface(&mut s, "the room", "Room", &schema.room);
    interface(&mut s, "one input", "Input", &schema.input);
    let _ = writeln!(
        s,
        "/** Decoded values of each entity kind, by kind name. */"
    );
    let _ = writeln!(s, "export interface Kinds {{");
    for (raw, name) in &kind_names {
        let _ = writeln!(s, "  {}: {name};", js_key(raw));
    }
    let _ = writeln!(s, "}}\n");
    let _ = writeln!(
        s,
        "/** The value types of this schema, for the SDK's generic types. */"
    );
    let _ = writeln!(s, "export interface Types {{");
    let _ = writeln!(s, "  kinds: Kinds;");
    let _ = writeln!(s, "  room: Room;");
    let _ = writeln!(s, "  input: Input;");
    let _ = writeln!(s, "}}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers() {
        assert_eq!(pascal("player_state"), "PlayerState");
        assert_eq!(pascal("3d"), "Kind3d");
        assert_eq!(js_key("pos"), "pos");
        assert_eq!(js_key("max-hp"), "'max-hp'");
        assert_eq!(js_str("it's\n"), "'it\\'s\\n'");
        assert_eq!(js_f32(0.1), "0.10000000149011612");
    }

    #[test]
    fn writes_every_field_type() {
        let schema = Schema::builder("t")
            .kind("a", |k| {
                k.f32("f", -1.0, 1.0, 0.1)
                    .int("i", -5_000_000_000, -4_999_999_000)
                    .bool("b")
                    .enumeration("e", &["x", "y"])
                    .vec3("v", 0.0, 1.0, 0.5)
                    .quat("q", 9)
                    .string("s", 7)
            })
            .build()
            .unwrap();
        let files = generate_ts(&schema, "regen").unwrap();
        let schema_ts = &files[0].contents;
        assert!(schema_ts.contains("min: -5000000000n"), "{schema_ts}");
        assert!(schema_ts.contains("{ type: 'quat', bits: 9 }"));
        assert!(schema_ts.contains(&format!("0x{:016x}n", schema.protocol_hash())));
        let types_ts = &files[1].contents;
        assert!(types_ts.contains("e: 'x' | 'y';"), "{types_ts}");
        assert!(types_ts.contains("q: Quat;"));
        assert!(files.iter().all(|f| f.contents.contains("Do not edit")));
    }
}
