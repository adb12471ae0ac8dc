//! A STUN pre-parser: just enough of RFC 8489 to find the `USERNAME` of a Binding request, so
//! the demultiplexer can route a datagram before any peer parses it.
//!
//! It reads untrusted bytes: every length is checked against the slice, nothing allocates,
//! and anything that is not a well-formed STUN Binding request yields `None`.

/// STUN magic cookie (RFC 8489 §5).
const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Message type of a Binding request.
const BINDING_REQUEST: u16 = 0x0001;
/// Attribute type of `USERNAME`.
const ATTR_USERNAME: u16 = 0x0006;
/// Size of the fixed STUN header.
const HEADER_LEN: usize = 20;
/// Longest `USERNAME` RFC 8489 allows, in bytes.
const MAX_USERNAME_LEN: usize = 513;

/// Whether the first byte says STUN (RFC 7983 demultiplexing: 0..=3).
pub(crate) fn looks_like_stun(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| *b <= 3)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// The `USERNAME` attribute of a STUN Binding request, or `None` for anything else.
pub(crate) fn binding_username(datagram: &[u8]) -> Option<&[u8]> {
    if !looks_like_stun(datagram) || datagram.len() < HEADER_LEN {
        return None;
    }
    if u16_at(datagram, 0)? != BINDING_REQUEST {
        return None;
    }
    let body_len = usize::from(u16_at(datagram, 2)?);
    let cookie = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]);
    if cookie != MAGIC_COOKIE || body_len % 4 != 0 || HEADER_LEN + body_len != datagram.len() {
        return None;
    }
    let mut at = HEADER_LEN;
    while at + 4 <= datagram.len() {
        let ty = u16_at(datagram, at)?;
        let len = usize::from(u16_at(datagram, at + 2)?);
        let value = datagram.get(at + 4..at + 4 + len)?;
        if ty == ATTR_USERNAME {
            return (len <= MAX_USERNAME_LEN).then_some(value);
        }
        // Values are padded to a multiple of 4 bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

/// The receiver's ICE ufrag: in a Binding request to us, `USERNAME` is
/// `<our ufrag>:<their ufrag>`.
pub(crate) fn local_ufrag(datagram: &[u8]) -> Option<&[u8]> {
    let username = binding_username(datagram)?;
    let colon = username.iter().position(|b| *b == b':')?;
    let ufrag = &username[..colon];
    (!ufrag.is_empty()).then_some(ufrag)
}

/// Builds a Binding request carrying `username` (for tests and fuzz seeds).
#[cfg(test)]
pub(crate) fn binding_request(username: &[u8], extra_attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut attr = |ty: u16, v: &[u8]| {
        body.extend_from_slice(&ty.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        body.resize(body.len().div_ceil(4) * 4, 0);
    };
    for (ty, v) in extra_attrs {
        attr(*ty, v);
    }
    attr(ATTR_USERNAME, username);
    let mut out = Vec::new();
    out.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(&[7; 12]);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_the_local_ufrag_after_other_attributes() {
        let d = binding_request(
            b"srv1:cli2",
            &[(0x8029, &[1, 2, 3, 4, 5, 6, 7, 8]), (0x0024, &[0, 0, 0, 1])],
        );
        assert_eq!(binding_username(&d), Some(&b"srv1:cli2"[..]));
        assert_eq!(local_ufrag(&d), Some(&b"srv1"[..]));
    }

    #[test]
    fn rejects_what_is_not_a_well_formed_binding_request() {
        let good = binding_request(b"a:b", &[]);
        // Wrong cookie, wrong type, wrong length, truncated, no colon, empty ufrag.
        let mut bad_cookie = good.clone();
        bad_cookie[4] ^= 1;
        let mut response = good.clone();
        response[1] = 0x01;
        response[0] = 0x01;
        let mut long = good.clone();
        long.push(0);
        assert_eq!(local_ufrag(&bad_cookie), None);
        assert_eq!(local_ufrag(&response), None);
        assert_eq!(local_ufrag(&long), None);
        assert_eq!(local_ufrag(&good[..good.len() - 4]), None);
        assert_eq!(local_ufrag(&binding_request(b"nocolon", &[])), None);
        assert_eq!(local_ufrag(&binding_request(b":b", &[])), None);
        assert_eq!(local_ufrag(&[]), None);
        assert!(!looks_like_stun(&[22, 254, 253]), "DTLS is not STUN");
    }

    proptest! {
        /// Whatever the bytes, a ufrag comes only out of a well-formed STUN message, as the
        /// non-empty part of its username before the first colon.
        #[test]
        fn random_bytes_give_a_ufrag_only_from_a_binding_username(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Some(ufrag) = local_ufrag(&bytes) {
                prop_assert!(looks_like_stun(&bytes));
                prop_assert!(!ufrag.is_empty() && !ufrag.contains(&b':'));
                let user = binding_username(&bytes);
                prop_assert!(user.is_some_and(|u| u.starts_with(ufrag) && u.get(ufrag.len()) == Some(&b':')));
            }
        }

        #[test]
        fn mutated_requests_never_panic_and_stay_in_bounds(
            user in proptest::collection::vec(any::<u8>(), 0..80),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
            cut in any::<usize>(),
        ) {
            let mut d = binding_request(&user, &[(0x8022, b"x")]);
            for (at, v) in flips {
                let i = at % d.len();
                d[i] ^= v;
            }
            d.truncate(cut % (d.len() + 1));
            if let Some(u) = binding_username(&d) {
                prop_assert!(u.len() <= d.len());
            }
        }

        #[test]
        fn any_username_with_a_colon_round_trips(
            ufrag in "[a-zA-Z0-9+/]{1,32}",
            remote in "[a-zA-Z0-9+/]{1,32}",
        ) {
            let d = binding_request(format!("{ufrag}:{remote}").as_bytes(), &[]);
            prop_assert_eq!(local_ufrag(&d), Some(ufrag.as_bytes()));
        }
    }
}
