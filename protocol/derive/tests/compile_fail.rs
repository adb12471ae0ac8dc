//! Mistakes in a typed declaration are compile errors pointing at the field or attribute.

#[test]
fn mistakes_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
