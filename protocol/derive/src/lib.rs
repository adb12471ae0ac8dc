//! `tickwire-derive`: typed declarations of a game's replicated state.
//!
//! Four derives turn plain Rust types into the schema IR of `tickwire-protocol`, through the
//! same `FieldsBuilder` calls a hand-written schema makes, so the protocol hash, the codec and
//! the generated TypeScript are those of the equivalent builder schema:
//!
//! - `#[derive(Entity)]` on a struct: an entity kind. Its name is the struct's name in
//!   snake case (`PowerUp` → `"power_up"`) unless `#[tw(name = "...")]` says otherwise, and
//!   exactly one `Vec2` or `Vec3` field is marked `#[tw(position)]`: the position used for
//!   interest management (a `Vec3`'s `x` and `y`).
//! - `#[derive(RoomState)]` on a struct: the room-wide fields.
//! - `#[derive(Input)]` on a struct: one player input.
//! - `#[derive(FieldEnum)]` on a C-like enum: a field type whose variants, in declaration
//!   order, are the schema enum's variants (names in snake case, or `#[tw(name = "...")]`).
//!
//! Fields are in declaration order and named as in Rust. Each field's type and `#[tw(...)]`
//! attribute give its schema type:
//!
//! | Rust type | attribute | builder call |
//! |---|---|---|
//! | `f32` | `range(min, max), precision = p` | `f32(name, min, max, p)` |
//! | `u8`..`u64` | `bits = n` | `uint(name, n)` |
//! | any integer | `range(min, max)` | `int(name, min, max)` |
//! | `u8`..`u32`, `i8`..`i32` | none | `int` over the whole Rust type |
//! | `bool` | none | `bool(name)` |
//! | a `FieldEnum` enum | none | `enumeration(name, variants)` |
//! | `Vec2` / `Vec3` | `range(min, max), precision = p` | `vec2` / `vec3` |
//! | `Quat` | `bits = n` (2 to 16) | `quat(name, n)` |
//! | `String` | `max_len = n` (1 to 255) | `string(name, n)` |
//!
//! A numeric field also takes `delta_bits = n` (the builder's `delta_bits` right after it).
//! Anything else (another type, a missing or misplaced attribute key, a second position) is a
//! compile error pointing at the field or the attribute.
//!
//! The generated code names the protocol crate as `::tickwire::protocol` when the crate being
//! compiled depends on `tickwire`, else as `::tickwire_protocol`; `#[tw(crate = "path")]` on
//! the type overrides it.
//!
//! ```
//! use tickwire_protocol::glam::Vec2;
//! use tickwire_protocol::typed::{Entity, FieldEnum, Input, RoomState};
//! use tickwire_protocol::Schema;
//!
//! #[derive(FieldEnum, Clone, Copy, Debug, PartialEq)]
//! enum Team {
//!     Red,
//!     Blue,
//! }
//!
//! #[derive(Entity, Debug, PartialEq)]
//! struct Ship {
//!     #[tw(position, range(0.0, 1000.0), precision = 0.125)]
//!     pos: Vec2,
//!     #[tw(bits = 7)]
//!     hp: u8,
//!     team: Team,
//!     #[tw(max_len = 16)]
//!     pilot: String,
//! }
//!
//! #[derive(RoomState)]
//! struct Room {
//!     #[tw(range(0, 600))]
//!     seconds_left: u16,
//! }
//!
//! #[derive(Input)]
//! struct Steer {
//!     #[tw(range(-1.0, 1.0), precision = 0.01)]
//!     turn: f32,
//!     fire: bool,
//! }
//!
//! let typed = Schema::typed::<Room, Steer>("ships").kind::<Ship>().build().unwrap();
//! let built = Schema::builder("ships")
//!     .kind("ship", |k| {
//!         k.vec2("pos", 0.0, 1000.0, 0.125)
//!             .uint("hp", 7)
//!             .enumeration("team", &["red", "blue"])
//!             .string("pilot", 16)
//!     })
//!     .room(|r| r.int("seconds_left", 0, 600))
//!     .input(|i| i.f32("turn", -1.0, 1.0, 0.01).bool("fire"))
//!     .build()
//!     .unwrap();
//! assert_eq!(typed, built);
//! ```

use heck::ToSnakeCase as _;
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{
    Data, DeriveInput, Expr, Fields, GenericArgument, Ident, LitInt, LitStr, PathArguments, Type,
    parse_macro_input,
};

/// An entity kind; see the [crate docs](crate).
#[proc_macro_derive(Entity, attributes(tw))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    expand_struct(parse_macro_input!(input as DeriveInput), Role::Entity)
}

/// The room-wide fields; see the [crate docs](crate).
#[proc_macro_derive(RoomState, attributes(tw))]
pub fn derive_room_state(input: TokenStream) -> TokenStream {
    expand_struct(parse_macro_input!(input as DeriveInput), Role::Room)
}

/// One player input; see the [crate docs](crate).
#[proc_macro_derive(Input, attributes(tw))]
pub fn derive_input(input: TokenStream) -> TokenStream {
    expand_struct(parse_macro_input!(input as DeriveInput), Role::Input)
}

/// A C-like enum usable as a field type; see the [crate docs](crate).
#[proc_macro_derive(FieldEnum, attributes(tw))]
pub fn derive_field_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_enum(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Entity,
    Room,
    Input,
}

impl Role {
    fn derive_name(self) -> &'static str {
        match self {
            Role::Entity => "Entity",
            Role::Room => "RoomState",
            Role::Input => "Input",
        }
    }
}

/// What the type-level `#[tw(...)]` says.
#[derive(Default)]
struct TypeAttrs {
    name: Option<LitStr>,
    krate: Option<syn::Path>,
}

fn parse_type_attrs(attrs: &[syn::Attribute], allow_name: bool) -> syn::Result<TypeAttrs> {
    let mut out = TypeAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("tw")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") && allow_name {
                if out.name.is_some() {
                    return Err(meta.error("`name` is given twice"));
                }
                out.name = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("crate") {
                if out.krate.is_some() {
                    return Err(meta.error("`crate` is given twice"));
                }
                let s: LitStr = meta.value()?.parse()?;
                out.krate = Some(s.parse()?);
                Ok(())
            } else {
                let expected = if allow_name {
                    "`name` or `crate`"
                } else {
                    "`crate`"
                };
                Err(meta.error(format!(
                    "unknown tw attribute key `{}` here; expected {expected}",
                    path_name(&meta.path)
                )))
            }
        })?;
    }
    Ok(out)
}

fn path_name(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The path of the protocol crate in generated code.
fn protocol_path(attrs: &TypeAttrs) -> TokenStream2 {
    use proc_macro_crate::{FoundCrate, crate_name};
    if let Some(p) = &attrs.krate {
        return quote!(#p);
    }
    // `Itself` holds for a crate's tests and examples as well as its library: the library
    // names itself with `extern crate self as ...`, so the absolute path works everywhere.
    match crate_name("tickwire") {
        Ok(FoundCrate::Itself) => return quote!(::tickwire::protocol),
        Ok(FoundCrate::Name(n)) => {
            let n = Ident::new(&n, Span::call_site());
            return quote!(::#n::protocol);
        }
        Err(_) => {}
    }
    match crate_name("tickwire-protocol") {
        Ok(FoundCrate::Name(n)) => {
            let n = Ident::new(&n, Span::call_site());
            quote!(::#n)
        }
        _ => quote!(::tickwire_protocol),
    }
}

/// A field's Rust type, as far as the schema cares.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    F32,
    Int { signed: bool, width: u32 },
    Bool,
    Vec2,
    Vec3,
    Quat,
    Str,
    Enum,
}

const SUPPORTED: &str = "supported field types: f32, i8..i64, u8..u64, bool, String, glam::Vec2, \
                         glam::Vec3, glam::Quat, or an enum with #[derive(FieldEnum)]";

fn classify(ty: &Type) -> syn::Result<Kind> {
    let unsupported = |what: String| {
        syn::Error::new_spanned(ty, format!("unsupported field type `{what}`; {SUPPORTED}"))
    };
    let Type::Path(tp) = ty else {
        return Err(unsupported(quote!(#ty).to_string()));
    };
    let Some(last) = tp.path.segments.last() else {
        return Err(unsupported(quote!(#ty).to_string()));
    };
    if tp.qself.is_some() || !matches!(last.arguments, PathArguments::None) {
        if let PathArguments::AngleBracketed(a) = &last.arguments
            && a.args.iter().any(|a| matches!(a, GenericArgument::Type(_)))
        {
            return Err(unsupported(quote!(#ty).to_string().replace(' ', "")));
        }
        return Err(unsupported(quote!(#ty).to_string()));
    }
    let name = last.ident.to_string();
    let int = |signed, width| Ok(Kind::Int { signed, width });
    match name.as_str() {
        "f32" => Ok(Kind::F32),
        "i8" => int(true, 8),
        "i16" => int(true, 16),
        "i32" => int(true, 32),
        "i64" => int(true, 64),
        "u8" => int(false, 8),
        "u16" => int(false, 16),
        "u32" => int(false, 32),
        "u64" => int(false, 64),
        "bool" => Ok(Kind::Bool),
        "Vec2" => Ok(Kind::Vec2),
        "Vec3" => Ok(Kind::Vec3),
        "Quat" => Ok(Kind::Quat),
        "String" => Ok(Kind::Str),
        "f64" | "i128" | "u128" | "isize" | "usize" | "char" | "str" | "DVec2" | "DVec3"
        | "Vec4" | "DQuat" | "IVec2" | "IVec3" | "UVec2" | "UVec3" => Err(unsupported(name)),
        _ => Ok(Kind::Enum),
    }
}

/// What a field's `#[tw(...)]` says, each key with the span it was written at.
#[derive(Default)]
struct FieldAttrs {
    range: Option<(Span, Expr, Expr)>,
    precision: Option<(Span, Expr)>,
    bits: Option<(Span, LitInt)>,
    delta_bits: Option<(Span, LitInt)>,
    max_len: Option<(Span, LitInt)>,
    position: Option<Span>,
}

fn parse_field_attrs(attrs: &[syn::Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("tw")) {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            let key = path_name(&meta.path);
            let twice = || syn::Error::new(span, format!("`{key}` is given twice"));
            match key.as_str() {
                "range" => {
                    if out.range.is_some() {
                        return Err(twice());
                    }
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let min: Expr = content.parse()?;
                    content.parse::<syn::Token![,]>()?;
                    let max: Expr = content.parse()?;
                    if !content.is_empty() {
                        content.parse::<syn::Token![,]>()?;
                    }
                    if !content.is_empty() {
                        return Err(content.error("`range` takes two values: range(min, max)"));
                    }
                    out.range = Some((span, min, max));
                }
                "precision" => {
                    if out.precision.is_some() {
                        return Err(twice());
                    }
                    out.precision = Some((span, meta.value()?.parse()?));
                }
                "bits" => {
                    if out.bits.is_some() {
                        return Err(twice());
                    }
                    out.bits = Some((span, meta.value()?.parse()?));
                }
                "delta_bits" => {
                    if out.delta_bits.is_some() {
                        return Err(twice());
                    }
                    out.delta_bits = Some((span, meta.value()?.parse()?));
                }
                "max_len" => {
                    if out.max_len.is_some() {
                        return Err(twice());
                    }
                    out.max_len = Some((span, meta.value()?.parse()?));
                }
                "position" => {
                    if out.position.is_some() {
                        return Err(twice());
                    }
                    out.position = Some(span);
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown tw attribute key `{key}`; expected one of `range`, \
                         `precision`, `bits`, `delta_bits`, `max_len`, `position`"
                    )));
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn lit_value(lit: &LitInt, lo: u32, hi: u32, what: &str) -> syn::Result<u32> {
    let v: u32 = lit
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(lit, format!("{what} must be {lo} to {hi}")))?;
    if !(lo..=hi).contains(&v) {
        return Err(syn::Error::new_spanned(
            lit,
            format!("{what} must be {lo} to {hi}"),
        ));
    }
    Ok(v)
}

/// The code of one field: its builder call and compile-time checks.
struct FieldCode {
    declare: TokenStream2,
    checks: TokenStream2,
}

fn type_label(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

fn field_code(
    path: &TokenStream2,
    name: &str,
    ty: &Type,
    kind: Kind,
    a: &FieldAttrs,
) -> syn::Result<FieldCode> {
    let label = type_label(ty);
    let misplaced = |span: Span, key: &str| {
        syn::Error::new(
            span,
            format!("`{key}` does not apply to a field of type `{label}`"),
        )
    };
    let ty_span = ty.span();
    // Keys every type refuses unless listed as its own below.
    let allow = |range: bool, precision: bool, bits: bool, delta: bool, max_len: bool| {
        if let (false, Some((s, ..))) = (range, &a.range) {
            return Err(misplaced(*s, "range"));
        }
        if let (false, Some((s, _))) = (precision, &a.precision) {
            return Err(misplaced(*s, "precision"));
        }
        if let (false, Some((s, _))) = (bits, &a.bits) {
            return Err(misplaced(*s, "bits"));
        }
        if let (false, Some((s, _))) = (delta, &a.delta_bits) {
            return Err(misplaced(*s, "delta_bits"));
        }
        if let (false, Some((s, _))) = (max_len, &a.max_len) {
            return Err(misplaced(*s, "max_len"));
        }
        Ok(())
    };
    let delta = match &a.delta_bits {
        Some((_, lit)) => {
            let d = lit_value(lit, 0, 31, "delta_bits")? as u8;
            quote!(.delta_bits(#d))
        }
        None => quote!(),
    };
    let mut checks = quote!();
    let declare = match kind {
        Kind::F32 | Kind::Vec2 | Kind::Vec3 => {
            allow(true, true, false, true, false)?;
            let what = match kind {
                Kind::F32 => "an `f32`",
                Kind::Vec2 => "a `Vec2`",
                _ => "a `Vec3`",
            };
            let Some((_, min, max)) = &a.range else {
                return Err(syn::Error::new(
                    ty_span,
                    format!(
                        "{what} field needs #[tw(range(min, max), precision = p)]: the \
                         range it is clamped to and its largest quantization step"
                    ),
                ));
            };
            let Some((_, precision)) = &a.precision else {
                return Err(syn::Error::new(
                    ty_span,
                    format!("{what} field needs `precision = p`: its largest quantization step"),
                ));
            };
            let method = match kind {
                Kind::F32 => quote!(f32),
                Kind::Vec2 => quote!(vec2),
                _ => quote!(vec3),
            };
            quote!(.#method(#name, #min, #max, #precision) #delta)
        }
        Kind::Int { signed, width } => {
            allow(true, false, !signed, true, false)?;
            match (&a.range, &a.bits) {
                (Some((s, ..)), Some(_)) => {
                    return Err(syn::Error::new(
                        *s,
                        "give either `range(min, max)` or `bits = n`, not both",
                    ));
                }
                (Some((_, min, max)), None) => {
                    let msg = format!("the range of `{name}` does not fit its type `{label}`");
                    checks = quote_spanned! {ty_span=>
                        const _: () = {
                            const MIN: i64 = #min;
                            const MAX: i64 = #max;
                            ::core::assert!(
                                MIN as i128 >= <#ty>::MIN as i128
                                    && MAX as i128 <= <#ty>::MAX as i128,
                                #msg
                            );
                        };
                    };
                    quote!(.int(#name, #min, #max) #delta)
                }
                (None, Some((_, lit))) => {
                    let bits = lit_value(lit, 1, width.min(32), "bits")? as u8;
                    quote!(.uint(#name, #bits) #delta)
                }
                (None, None) if width <= 32 => {
                    quote!(.int(#name, <#ty>::MIN as i64, <#ty>::MAX as i64) #delta)
                }
                (None, None) => {
                    return Err(syn::Error::new(
                        ty_span,
                        format!(
                            "a field of type `{label}` needs #[tw(range(min, max))]{}: the wire \
                             carries at most 2^32 values",
                            if signed { "" } else { " or #[tw(bits = n)]" }
                        ),
                    ));
                }
            }
        }
        Kind::Bool => {
            allow(false, false, false, false, false)?;
            quote!(.bool(#name))
        }
        Kind::Enum => {
            allow(false, false, false, false, false)?;
            quote_spanned! {ty_span=>
                .enumeration(#name, <#ty as #path::typed::FieldEnum>::VARIANTS)
            }
        }
        Kind::Quat => {
            allow(false, false, true, false, false)?;
            let Some((_, lit)) = &a.bits else {
                return Err(syn::Error::new(
                    ty_span,
                    "a `Quat` field needs #[tw(bits = n)]: bits per sent component, 2 to 16",
                ));
            };
            let bits = lit_value(lit, 2, 16, "bits")? as u8;
            quote!(.quat(#name, #bits))
        }
        Kind::Str => {
            allow(false, false, false, false, true)?;
            let Some((_, lit)) = &a.max_len else {
                return Err(syn::Error::new(
                    ty_span,
                    "a `String` field needs #[tw(max_len = n)]: its longest length in UTF-8 \
                     bytes, 1 to 255",
                ));
            };
            let n = lit_value(lit, 1, 255, "max_len")? as u8;
            quote!(.string(#name, #n))
        }
    };
    Ok(FieldCode { declare, checks })
}

fn expand_struct(input: DeriveInput, role: Role) -> TokenStream {
    expand_struct_inner(&input, role)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand_struct_inner(input: &DeriveInput, role: Role) -> syn::Result<TokenStream2> {
    let derive = role.derive_name();
    let attrs = parse_type_attrs(&input.attrs, role == Role::Entity)?;
    let path = protocol_path(&attrs);
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            format!("#[derive({derive})] does not support generic types"),
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("#[derive({derive})] needs a struct with named fields"),
        ));
    };
    let named: Vec<&syn::Field> = match &data.fields {
        Fields::Named(f) => f.named.iter().collect(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(f) => {
            return Err(syn::Error::new_spanned(
                f,
                format!("#[derive({derive})] needs named fields: they name the schema's fields"),
            ));
        }
    };

    let mut errors: Option<syn::Error> = None;
    let push_err = |errors: &mut Option<syn::Error>, e: syn::Error| match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    };
    let mut declares = Vec::new();
    let mut checks = Vec::new();
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    let mut position: Option<(Span, &Ident, Kind)> = None;
    for (i, f) in named.iter().enumerate() {
        let ident = f.ident.as_ref().expect("named field");
        let name = ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        let result = parse_field_attrs(&f.attrs).and_then(|a| {
            let kind = classify(&f.ty)?;
            if let Some(span) = a.position {
                if role != Role::Entity {
                    return Err(syn::Error::new(
                        span,
                        format!("`position` applies only to #[derive(Entity)], not {derive}"),
                    ));
                }
                if !matches!(kind, Kind::Vec2 | Kind::Vec3) {
                    return Err(syn::Error::new(
                        span,
                        "`position` must mark a `Vec2` or `Vec3` field",
                    ));
                }
                if let Some((first, ..)) = position {
                    let mut e = syn::Error::new(
                        span,
                        "an entity has one position: `position` is already on another field",
                    );
                    e.combine(syn::Error::new(first, "the first `position` is here"));
                    return Err(e);
                }
                position = Some((span, ident, kind));
            }
            field_code(&path, &name, &f.ty, kind, &a)
        });
        match result {
            Ok(code) => {
                declares.push(code.declare);
                checks.push(code.checks);
            }
            Err(e) => push_err(&mut errors, e),
        }
        let ty = &f.ty;
        writes.push(quote_spanned! {ty.span()=>
            clamped += #path::typed::FieldValue::write_field(&self.#ident, &fields[#i], words)?;
        });
        reads.push(quote_spanned! {ty.span()=>
            #ident: <#ty as #path::typed::FieldValue>::read_field(&fields[#i], words)?,
        });
    }
    let ident = &input.ident;
    if role == Role::Entity && position.is_none() && errors.is_none() {
        push_err(
            &mut errors,
            syn::Error::new_spanned(
                ident,
                "an entity needs one `Vec2` or `Vec3` field marked #[tw(position)]: where it is \
             for interest management",
            ),
        );
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let n = named.len();
    let construct = if matches!(data.fields, Fields::Unit) {
        quote!(Self)
    } else {
        quote!(Self { #(#reads)* })
    };
    let role_impl = match role {
        Role::Entity => {
            let (_, pos, _) = position.expect("checked above");
            let kind_name = match &attrs.name {
                Some(n) => n.value(),
                None => ident.to_string().to_snake_case(),
            };
            quote! {
                impl #path::typed::Entity for #ident {
                    const NAME: &'static str = #kind_name;
                    fn position(&self) -> #path::glam::Vec2 {
                        #path::typed::Position::xy(&self.#pos)
                    }
                }
            }
        }
        Role::Room => quote!(impl #path::typed::RoomState for #ident {}),
        Role::Input => quote!(impl #path::typed::Input for #ident {}),
    };
    let words_var = if n == 0 {
        quote!(_words)
    } else {
        quote!(words)
    };
    let clamped_mut = if n == 0 { quote!() } else { quote!(mut) };
    Ok(quote! {
        #(#checks)*
        impl #path::typed::Fields for #ident {
            const FIELDS: usize = #n;
            fn declare(
                fields: #path::schema::FieldsBuilder,
            ) -> #path::schema::FieldsBuilder {
                fields #(#declares)*
            }
            fn write_words(
                &self,
                layout: &#path::KindLayout,
                #words_var: &mut [u32],
            ) -> ::core::result::Result<u32, #path::ValueError> {
                let fields = #path::typed::fields_of::<Self>(layout, #words_var.len())?;
                let _ = fields;
                let #clamped_mut clamped = 0u32;
                #(#writes)*
                ::core::result::Result::Ok(clamped)
            }
            fn read_words(
                layout: &#path::KindLayout,
                #words_var: &[u32],
            ) -> ::core::result::Result<Self, #path::ValueError> {
                let fields = #path::typed::fields_of::<Self>(layout, #words_var.len())?;
                let _ = fields;
                ::core::result::Result::Ok(#construct)
            }
        }
        #role_impl
    })
}

fn expand_enum(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let attrs = parse_type_attrs(&input.attrs, false)?;
    let path = protocol_path(&attrs);
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            Span::call_site(),
            "#[derive(FieldEnum)] needs a C-like enum",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(FieldEnum)] does not support generic types",
        ));
    }
    if data.variants.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(FieldEnum)] needs at least one variant",
        ));
    }
    let mut names = Vec::new();
    let mut idents = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                &v.fields,
                "#[derive(FieldEnum)] variants carry no data: the wire sends the variant index",
            ));
        }
        if let Some((_, d)) = &v.discriminant {
            return Err(syn::Error::new_spanned(
                d,
                "#[derive(FieldEnum)] takes no explicit discriminant: a variant's wire index is \
                 its declaration order",
            ));
        }
        let mut name = None;
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("tw")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let s: LitStr = meta.value()?.parse()?;
                    name = Some(s.value());
                    Ok(())
                } else {
                    Err(meta.error(format!(
                        "unknown tw attribute key `{}` on a variant; expected `name`",
                        path_name(&meta.path)
                    )))
                }
            })?;
        }
        names.push(name.unwrap_or_else(|| v.ident.to_string().to_snake_case()));
        idents.push(&v.ident);
    }
    let ident = &input.ident;
    let idx: Vec<u32> = (0..idents.len() as u32).collect();
    Ok(quote! {
        impl #path::typed::FieldEnum for #ident {
            const VARIANTS: &'static [&'static str] = &[#(#names),*];
            fn index(&self) -> u32 {
                match self {
                    #(Self::#idents => #idx,)*
                }
            }
            fn from_index(index: u32) -> ::core::option::Option<Self> {
                match index {
                    #(#idx => ::core::option::Option::Some(Self::#idents),)*
                    _ => ::core::option::Option::None,
                }
            }
        }
        impl #path::typed::FieldValue for #ident {
            fn write_field(
                &self,
                field: &#path::FieldLayout,
                words: &mut [u32],
            ) -> ::core::result::Result<u32, #path::ValueError> {
                #path::typed::write_enum(#path::typed::FieldEnum::index(self), field, words)
            }
            fn read_field(
                field: &#path::FieldLayout,
                words: &[u32],
            ) -> ::core::result::Result<Self, #path::ValueError> {
                let i = #path::typed::read_enum(field, words)?;
                <Self as #path::typed::FieldEnum>::from_index(i)
                    .ok_or(#path::ValueError::OutOfRange)
            }
        }
    })
}
