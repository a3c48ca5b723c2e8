//! An order-preserving encoding of composite keys into bytes.
//!
//! Each component is written with NUL escaped as `00 FF` and closed by `00 01`, so byte order of the encoding
//! equals the tuple order of the components. That lets the table and its indexes use one kind of range scan.

use std::ops::Bound;

use kefu_ports::SkCondition;

/// Appends one component, escaped and terminated.
pub fn push(out: &mut Vec<u8>, component: &str) {
    push_raw(out, component);
    out.extend_from_slice(&[0, 1]);
}

/// Appends a component's escaped bytes without the terminator (for prefixes).
pub fn push_raw(out: &mut Vec<u8>, component: &str) {
    for &b in component.as_bytes() {
        if b == 0 {
            out.extend_from_slice(&[0, 0xFF]);
        } else {
            out.push(b);
        }
    }
}

/// The encoding of several components.
pub fn encode(components: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(components.iter().map(|c| c.len() + 2).sum());
    for c in components {
        push(&mut out, c);
    }
    out
}

/// Decodes components written by [`encode`].
pub fn decode(mut bytes: &[u8]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = Vec::new();
    while let Some((&b, rest)) = bytes.split_first() {
        bytes = rest;
        if b != 0 {
            cur.push(b);
            continue;
        }
        let Some((&next, rest)) = bytes.split_first() else { break };
        bytes = rest;
        if next == 0xFF {
            cur.push(0);
        } else {
            parts.push(String::from_utf8(std::mem::take(&mut cur)).unwrap_or_default());
        }
    }
    parts
}

/// A byte range, as redb takes it.
pub type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);

fn after_all(prefix: &[u8], v: &str) -> Vec<u8> {
    let mut k = prefix.to_vec();
    push_raw(&mut k, v);
    k.extend_from_slice(&[0, 2]);
    k
}

fn start_of(prefix: &[u8], v: &str) -> Vec<u8> {
    let mut k = prefix.to_vec();
    push(&mut k, v);
    k
}

/// The range of keys in the partition `pk` (an encoded first component) whose next component satisfies `sk`.
/// Works for the table (`pk`, `sk`) and for indexes (`gsipk`, `gsisk`, `pk`, `sk`).
/// Also answers a prefix that every key in range must start with (for `BeginsWith`).
pub fn range(pk: &str, sk: Option<&SkCondition>) -> Range {
    let partition = encode(&[pk]);
    let mut upper_all = partition.clone();
    *upper_all.last_mut().expect("terminator") = 2;
    let (lo, hi) = match sk {
        None => (Bound::Included(partition.clone()), Bound::Excluded(upper_all)),
        Some(SkCondition::Eq(v)) => {
            (Bound::Included(start_of(&partition, v)), Bound::Excluded(after_all(&partition, v)))
        }
        Some(SkCondition::Ge(v)) => (Bound::Included(start_of(&partition, v)), Bound::Excluded(upper_all)),
        Some(SkCondition::Gt(v)) => (Bound::Included(after_all(&partition, v)), Bound::Excluded(upper_all)),
        Some(SkCondition::Le(v)) => (Bound::Included(partition.clone()), Bound::Excluded(after_all(&partition, v))),
        Some(SkCondition::Lt(v)) => (Bound::Included(partition.clone()), Bound::Excluded(start_of(&partition, v))),
        Some(SkCondition::Between(a, b)) => {
            (Bound::Included(start_of(&partition, a)), Bound::Excluded(after_all(&partition, b)))
        }
        Some(SkCondition::BeginsWith(p)) => {
            let mut lo = partition.clone();
            push_raw(&mut lo, p);
            let mut hi = lo.clone();
            hi.push(0xFF);
            (Bound::Included(lo), Bound::Excluded(hi))
        }
    };
    (lo, hi)
}

/// Narrows a range to what comes strictly after `key` in the direction of travel.
pub fn after_cursor(range: Range, key: Vec<u8>, forward: bool) -> Range {
    let (lo, hi) = range;
    if forward {
        let tighter = match &lo {
            Bound::Included(l) | Bound::Excluded(l) => key >= *l,
            Bound::Unbounded => true,
        };
        (if tighter { Bound::Excluded(key) } else { lo }, hi)
    } else {
        let tighter = match &hi {
            Bound::Included(h) | Bound::Excluded(h) => key <= *h,
            Bound::Unbounded => true,
        };
        (lo, if tighter { Bound::Excluded(key) } else { hi })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_tuple_order() {
        let mut keys = [("a", "b"), ("a", ""), ("a\0", "x"), ("a", "b\0"), ("ab", ""), ("a", "c"), ("", "z")];
        let mut enc: Vec<Vec<u8>> = keys.iter().map(|(a, b)| encode(&[a, b])).collect();
        keys.sort();
        enc.sort();
        let back: Vec<(String, String)> = enc
            .iter()
            .map(|e| {
                let d = decode(e);
                (d[0].clone(), d[1].clone())
            })
            .collect();
        let want: Vec<(String, String)> = keys.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        assert_eq!(back, want);
    }

    fn within(r: &Range, k: &[u8]) -> bool {
        use std::ops::RangeBounds;
        let b: (Bound<&[u8]>, Bound<&[u8]>) = (r.0.as_ref().map(|v| v.as_slice()), r.1.as_ref().map(|v| v.as_slice()));
        RangeBounds::<&[u8]>::contains(&b, &k)
    }

    #[test]
    fn ranges_select_the_right_sort_keys() {
        let sks = ["", "A", "MSG#01", "MSG#1", "MSG#10", "MSG#\0", "N"];
        let check = |c: SkCondition| {
            let r = range("p", Some(&c));
            for sk in sks {
                assert_eq!(within(&r, &encode(&["p", sk])), c.matches(sk), "{c:?} {sk:?}");
                assert_eq!(within(&r, &encode(&["p", sk, "pk", "sk"])), c.matches(sk), "index {c:?} {sk:?}");
                assert!(!within(&r, &encode(&["p\0", sk])));
                assert!(!within(&r, &encode(&["pp", sk])));
            }
        };
        for v in ["MSG#1", "", "A", "MSG#\0"] {
            check(SkCondition::Eq(v.into()));
            check(SkCondition::Gt(v.into()));
            check(SkCondition::Ge(v.into()));
            check(SkCondition::Lt(v.into()));
            check(SkCondition::Le(v.into()));
            check(SkCondition::BeginsWith(v.into()));
            check(SkCondition::Between(v.into(), "MSG#10".into()));
        }
    }
}
