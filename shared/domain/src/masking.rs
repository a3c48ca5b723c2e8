//! Masking of personal data for readers without `customers.view_sensitive`: mobile numbers, landlines, emails,
//! resident ID numbers and bank card numbers, in free text ([`mask_text`]) and in customer fields
//! ([`mask_email`], [`mask_phone`]).
//!
//! # What is found in free text
//!
//! | kind | what | shown as |
//! |---|---|---|
//! | mainland mobile | `1[3-9]` + 9 digits, however it is split into groups | `138****5678`, `138-****-5678` |
//! | landline | an area code (`010`, `02x`, `0[3-9]xx`) and a 7–8 digit local number: split from the area code (or the area code in parentheses), or grouped otherwise (one run included) when the local number starts with 2–9 | `010-****5678`, `(021)****5678` |
//! | E.164 | `+`, then 8–15 digits, optionally grouped | `+86*******5678` (country code and last 4) |
//! | email | `local@domain.tld` (ASCII after normalising; the TLD is 2+ letters) | `z***@example.com` |
//! | resident ID | 17 digits + digit/`X`, however split, with a plausible birth date and either a known province code or a valid ISO 7064 MOD 11-2 check character (a mistyped ID is still an ID) | `110101********1234` (first 6, last 4) |
//! | bank card | 13–19 digits passing Luhn: one run, groups of 3–6 digits, or one digit at a time | `************1111`, `**** **** **** 1111` |
//!
//! Masking only turns digits into `*` (and shortens an email's local part), so separators and the shape of
//! the text stay readable.
//!
//! # Normalisation: what the reader sees is what is matched
//! Before matching, the text is folded the way NFKC folds it, one character at a time: full-width digits,
//! letters and signs (`１３８`, `＠`, `．`, `＋`, typed by Chinese input methods), the ideographic and other
//! spaces, circled and mathematical digits, small-form `﹫`… all read as their ASCII counterparts, and the
//! invisible characters (zero-width space and joiners, word joiner, BOM, soft hyphen, bidirectional marks,
//! variation selectors, tags) are dropped. Dashes (`‐`–`―`, `−`) read as `-`. The masking is applied to the
//! *original* text through a map from folded offsets back to the original bytes, so everything outside a
//! masked digit keeps the user's own characters (`１３８****５６７８`, `ｚ***＠ｅｘａｍｐｌｅ．ｃｏｍ`).
//! Only characters whose fold is ASCII and matters to a rule are folded; any other character (CJK, `，`, `。`)
//! stays as it is and is a boundary.
//!
//! # Boundaries
//! A number is a *chain*: digit groups joined by single spaces, dashes or dots (and an area code's closing
//! parenthesis). A match is made of whole groups, so a number is never found inside a longer digit run
//! (`013812345678` is not a mobile). Letters, CJK text, other punctuation and `*` are boundaries
//! (`手机13812345678`, `**13812345678**` are found).
//!
//! # Precedence
//! 1. **Email first.** A run of local-part characters that reaches an `@` with a valid domain is an email,
//!    even when it starts with digits (`13812345678@qq.com` → `1***@qq.com`): the number is the address's
//!    name there, and the email mask hides more of it.
//! 2. **Every other rule is tried on every run of consecutive groups of a chain holding at most 19 digits, and
//!    a digit is hidden if any match hides it** (the union). So an item is found however the text around it
//!    groups, and where two readings overlap the more conservative wins: a 20-digit chain
//!    `2024 4111 1111 1111 1111` whose first 16 digits happen to pass Luhn too ends up as
//!    `**** **** **** **** 1111`, never revealing the card's third group.
//! 3. **Resident ID before card on the same digits**: an 18-character run that reads as a resident ID is not
//!    also tried as a card, so IDs always read `110101********1234`.
//! 4. **Masking reaches a fixed point**: the output is scanned again until nothing changes (at most a few
//!    passes; each pass only adds `*`), so `mask_text(mask_text(x)) == mask_text(x)` for every input.
//!
//! Not found (by design, to keep false positives off order numbers and prices): numbers inside a longer digit
//! run, landlines without an area code, non-ASCII email addresses, IDs with an impossible birth date, cards
//! split into irregular groups.
//!
//! # Speed
//! Two linear passes. The fold pass looks only at the lead bytes of the few Unicode blocks that can fold to
//! something that matters (a 256-entry table; CJK text is skipped at byte speed) and builds a folded copy and
//! its offset map only when one is present. The scan pass runs over the bytes with a lookup table; only
//! digits and `@` start any work, and everything it does is bounded per byte (emails scan at most 64 bytes
//! back; forward probes are memoised; each chain keeps Luhn prefix sums so every candidate run is checked in
//! constant time). Text with nothing to mask is returned borrowed, without allocating. See
//! `benches/README.md` for the numbers.

use std::borrow::Cow;

/// Longest local part looked at backwards from an `@` (RFC 5321's limit).
const MAX_LOCAL: usize = 64;
/// Longest domain looked at forwards from an `@`.
const MAX_DOMAIN: usize = 253;
/// Most digits one match may span (a 19-digit card).
const MAX_SPAN_DIGITS: usize = 19;

/// Masks every mobile number, landline with an area code, E.164 number, email address, resident ID number
/// and bank card number in `text`, however it is written (see the module's notes on normalisation). Returns
/// the input itself (borrowed) when there is nothing to mask.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    let mut work = Work::default();
    let Some(Pass { text: mut owned, folded }) = mask_once(text, &mut work) else { return Cow::Borrowed(text) };
    // The usual proof of the fixed point for a folded text: its folded form is known already, so scan that
    // instead of folding the result again.
    if let Some(folded) = folded
        && scan(&folded, &mut work, false).is_ok_and(|edits| edits.is_empty())
    {
        return Cow::Owned(owned);
    }
    // Each pass only turns digits into `*` or shortens an email, so this ends; the second pass almost always
    // finds nothing.
    while let Some(next) = mask_once(&owned, &mut work) {
        owned = next.text;
    }
    Cow::Owned(owned)
}

/// What one masking pass made: the masked text and, when it was matched through a fold, the exact folded
/// form of the masked text (when known without folding it again).
struct Pass {
    text: String,
    folded: Option<Vec<u8>>,
}

/// Masks an email address for display: the first character of the local part, `***`, and the domain
/// (`zhang.san@example.com` → `z***@example.com`; a full-width `＠` counts as `@`). Something without an `@`
/// keeps only its first character.
pub fn mask_email(email: &str) -> String {
    let email = email.trim();
    let at = email.char_indices().rev().find(|(_, c)| matches!(c, '@' | '＠' | '﹫')).map(|(i, _)| i);
    match at {
        Some(at) => {
            let (local, domain) = email.split_at(at);
            // An already masked local part (`***`) stays as it is.
            let first = local.chars().next().filter(|c| *c != '*').map(String::from).unwrap_or_default();
            format!("{first}***{domain}")
        }
        None => match email.chars().next() {
            Some(c) => format!("{c}***"),
            None => String::new(),
        },
    }
}

/// Masks a phone number for display. Mainland mobiles read `138****5678`, E.164 numbers keep their country
/// code and last 4 digits (`+86 *** **** 5678`). Anything else (landlines, extensions) is masked by how many
/// digits it has: 11 or more keep the first 3 and last 4, 7 to 10 keep the last 4, fewer keep none.
/// Full-width and other compatibility digits count as digits. Separators stay where they were. Applying it
/// twice changes nothing.
pub fn mask_phone(phone: &str) -> String {
    let text = mask_text(phone);
    let is_digit = |c: char| c.is_ascii_digit() || folded_digit(c);
    // Count hidden digits (`*`) as digits, so an already masked number keeps its shape.
    let len = text.chars().filter(|c| is_digit(*c) || *c == '*').count();
    let (keep_first, keep_last) = match len {
        11.. => (3, 4),
        7..=10 => (0, 4),
        _ => (0, 0),
    };
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if is_digit(c) || c == '*' {
                let hide = seen >= keep_first && seen < len - keep_last;
                seen += 1;
                if hide { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

/// Whether a non-ASCII character folds to one ASCII digit (`５`, `𝟓`, `⑤`).
fn folded_digit(c: char) -> bool {
    matches!(fold_char(c), Fold::To(buf, 1) if buf[0].is_ascii_digit())
}

/// One masking pass; `None` when nothing was masked.
fn mask_once(text: &str, work: &mut Work) -> Option<Pass> {
    if let Ok(edits) = scan(text.as_bytes(), work, true) {
        return (!edits.is_empty()).then(|| Pass { text: render_direct(text.as_bytes(), &edits), folded: None });
    }
    let folded = fold(text)?;
    let edits = scan(&folded.bytes, work, false).unwrap_or_default();
    if edits.is_empty() {
        return None;
    }
    let (masked, exact) = render_mapped(text.as_bytes(), &folded, &edits);
    Some(Pass { text: masked, folded: exact.then(|| apply(&folded.bytes, &edits)) })
}

// ---- folding ----

/// What one character reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    /// Itself (it is ASCII already, or folding it changes nothing a rule looks at).
    Keep,
    /// Nothing: an invisible character.
    Strip,
    /// These ASCII bytes (at most 8).
    To([u8; 8], u8),
}

/// Lead bytes of the UTF-8 blocks where a character may fold to something that matters: U+0080–00BF
/// (no-break space, superscripts, soft hyphen), Latin ligatures and modifier letters (U+0100–02FF), U+034F,
/// U+061C, U+1xxx (modifier letters, Mongolian selectors), U+2xxx (spaces, invisibles, dashes,
/// super/subscripts, letterlike, enclosed digits), U+3xxx (ideographic space, enclosed CJK), U+Axxx (modifier
/// capitals), U+Fxxx (full-width and small forms, BOM, variation selectors), and the supplementary planes
/// (mathematical digits, tags). A test checks this against NFKC for every character.
const FOLD_LEAD: [bool; 256] = {
    let mut t = [false; 256];
    t[0xC2] = true;
    t[0xC4] = true;
    t[0xC5] = true;
    t[0xC7] = true;
    t[0xCA] = true;
    t[0xCB] = true;
    t[0xCD] = true;
    t[0xD8] = true;
    t[0xE1] = true;
    t[0xE2] = true;
    t[0xE3] = true;
    t[0xEA] = true;
    t[0xEF] = true;
    t[0xF0] = true;
    t[0xF3] = true;
    t
};

/// Whether an ASCII byte matters to some rule (so folding to it changes what is found): digits, letters and
/// the signs numbers and emails are made of.
fn matters(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'+' | b'-' | b'_' | b'%' | b' ' | b'(' | b')')
}

#[inline]
fn to_ascii(s: &[u8]) -> Fold {
    let mut buf = [0u8; 8];
    buf[..s.len()].copy_from_slice(s);
    Fold::To(buf, s.len() as u8)
}

/// What a character reads as: NFKC's compatibility decomposition when it is all ASCII and matters, nothing
/// for an invisible character, `-` for a dash.
fn fold_char(c: char) -> Fold {
    let u = u32::from(c);
    match u {
        0..=0x7F => Fold::Keep,
        // Latin-1: the no-break space, ordinal indicators, superscripts and the soft hyphen (the fractions
        // fold to `1⁄4`, not all ASCII).
        0xA0 => to_ascii(b" "),
        0xAA => to_ascii(b"a"),
        0xAD => Fold::Strip,
        0xB2 => to_ascii(b"2"),
        0xB3 => to_ascii(b"3"),
        0xB9 => to_ascii(b"1"),
        0xBA => to_ascii(b"o"),
        0x80..=0xFF => Fold::Keep,
        // Full-width ASCII: the common case, computed rather than looked up.
        0xFF01..=0xFF5E => {
            let a = (u - 0xFEE0) as u8;
            if matters(a) { to_ascii(&[a]) } else { Fold::Keep }
        }
        0x3000 => to_ascii(b" "),
        0x034F
        | 0x061C
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xE0000..=0xE0FFF => Fold::Strip,
        0x2010..=0x2015 | 0x2212 => to_ascii(b"-"),
        // CJK punctuation, kana, arrows, box drawing, radicals, Hangul and emoji: nothing folds to ASCII there (kana
        // sound marks fold to a space plus a combining mark, which is not all ASCII).
        0x3001..=0x30FF | 0x2190..=0x245F | 0x2500..=0x2BFF | 0x2E00..=0x2FFF | 0xAC00..=0xD7A3 | 0x1F300..=0x1FAFF => {
            Fold::Keep
        }
        _ => compatibility(c),
    }
}

/// NFKC's compatibility decomposition of one character, when it is all ASCII (at most 8 bytes) and matters.
fn compatibility(c: char) -> Fold {
    let mut buf = [0u8; 8];
    let mut n = 0usize;
    let mut ascii = true;
    unicode_normalization::char::decompose_compatible(c, |d| {
        if ascii && d.is_ascii() && n < buf.len() {
            buf[n] = d as u8;
            n += 1;
        } else {
            ascii = false;
        }
    });
    if !ascii || n == 0 || !buf[..n].iter().any(|b| matters(*b)) {
        return Fold::Keep;
    }
    Fold::To(buf, n as u8)
}

/// A character of the original text that folded to something else: `orig..orig + orig_len` became
/// `folded..folded + folded_len` (`folded_len` is 0 for a stripped character).
#[derive(Debug, Clone, Copy)]
struct Seg {
    folded: usize,
    folded_len: usize,
    orig: usize,
    orig_len: usize,
}

/// A folded copy of a text and the characters that changed, in order (everything between them is copied
/// byte for byte).
struct Folded {
    bytes: Vec<u8>,
    segs: Vec<Seg>,
}

/// Folds `text`; `None` when no character changes (the common case: then the text is scanned as it is).
fn fold(text: &str) -> Option<Folded> {
    let b = text.as_bytes();
    let n = b.len();
    let mut folded: Option<Folded> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < n {
        while i < n && !FOLD_LEAD[b[i] as usize] {
            i += 1;
        }
        if i >= n {
            break;
        }
        let (folded_char, len) = fold_at(b, i);
        let to = match &folded_char {
            Fold::Keep => {
                i += len;
                continue;
            }
            Fold::Strip => &[][..],
            Fold::To(buf, k) => &buf[..usize::from(*k)],
        };
        let f = folded.get_or_insert_with(|| Folded { bytes: Vec::with_capacity(n), segs: Vec::with_capacity(32) });
        if i > copied {
            f.bytes.extend_from_slice(&b[copied..i]);
        }
        f.segs.push(Seg { folded: f.bytes.len(), folded_len: to.len(), orig: i, orig_len: len });
        f.bytes.extend_from_slice(to);
        i += len;
        copied = i;
    }
    let mut f = folded?;
    f.bytes.extend_from_slice(&b[copied..]);
    Some(f)
}

/// What the character starting at `b[i]` (a [`FOLD_LEAD`] byte of valid UTF-8) reads as, and its length.
#[inline]
fn fold_at(b: &[u8], i: usize) -> (Fold, usize) {
    let n = b.len();
    // Quick answers for the blocks Chinese text is full of: full-width forms (`１`, `，`, `！`, `（`…) and CJK
    // punctuation and kana (`。`, `、`, `「`…; only U+3000 folds).
    if b[i] == 0xEF && i + 2 < n && matches!(b[i + 1], 0xBC | 0xBD) {
        let off = (u32::from(b[i + 1] - 0xBC) << 6) | u32::from(b[i + 2] & 0x3F);
        if (0x01..=0x5E).contains(&off) && matters((off + 0x20) as u8) {
            return (to_ascii(&[(off + 0x20) as u8]), 3);
        }
        return (Fold::Keep, 3);
    } else if b[i] == 0xE3 && i + 2 < n && b[i + 1] <= 0x83 && !(b[i + 1] == 0x80 && b[i + 2] == 0x80) {
        return (Fold::Keep, 3);
    }
    fold_other(b, i)
}

/// [`fold_at`] for everything but the common blocks.
#[inline(never)]
fn fold_other(b: &[u8], i: usize) -> (Fold, usize) {
    let n = b.len();
    let len = match b[i] {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    };
    let c = std::str::from_utf8(&b[i..n.min(i + len)]).ok().and_then(|s| s.chars().next());
    match c {
        Some(c) => (fold_char(c), len),
        None => (Fold::Keep, 1),
    }
}

/// Where one folded byte came from: the original character at bytes `orig.0..orig.1`; `several` when that
/// character folded to more than one byte (`⑫` → `12`).
#[derive(Debug, Clone, Copy)]
struct Origin {
    orig: (usize, usize),
    several: bool,
}

/// Maps folded offsets back to the original text; queries must come in increasing order.
struct Mapper<'a> {
    segs: &'a [Seg],
    next: usize,
}

impl Mapper<'_> {
    fn locate(&mut self, p: usize) -> Origin {
        while self.next < self.segs.len() && self.segs[self.next].folded + self.segs[self.next].folded_len <= p {
            self.next += 1;
        }
        if let Some(s) = self.segs.get(self.next).filter(|s| s.folded <= p) {
            return Origin { orig: (s.orig, s.orig + s.orig_len), several: s.folded_len > 1 };
        }
        // Between changed characters, bytes were copied one for one.
        let o = match self.next.checked_sub(1).map(|k| self.segs[k]) {
            Some(s) => s.orig + s.orig_len + (p - (s.folded + s.folded_len)),
            None => p,
        };
        Origin { orig: (o, o + 1), several: false }
    }
}

// ---- scanning ----

/// One change to the scanned bytes, in order of position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// The digit at this offset becomes `*`.
    Star(usize),
    /// An email's local part `start..at` becomes its first character and `***`.
    Email { start: usize, at: usize },
}

/// Applies edits to the text they were found in.
fn render_direct(b: &[u8], edits: &[Edit]) -> String {
    // Only ASCII digits became `*` and only whole ASCII runs were replaced, so this stays UTF-8.
    String::from_utf8(apply(b, edits)).expect("masking keeps UTF-8")
}

/// Applies edits to the bytes they were found in.
fn apply(b: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut copied = 0;
    for e in edits {
        match *e {
            Edit::Star(p) => {
                out.extend_from_slice(&b[copied..p]);
                out.push(b'*');
                copied = p + 1;
            }
            Edit::Email { start, at } => {
                out.extend_from_slice(&b[copied..start]);
                out.push(b[start]);
                out.extend_from_slice(b"***");
                copied = at;
            }
        }
    }
    out.extend_from_slice(&b[copied..]);
    out
}

/// Applies edits found in the folded copy to the original text: a hidden digit's original character becomes
/// `*` (a character that folded to several bytes, like `⑽`, becomes one `*` when any of its digits is
/// hidden); an email keeps its original first character and everything from its `@` on. Also answers
/// whether the folded copy with the same edits applied ([`apply`]) is exactly the fold of the result, which
/// holds unless an edit touched a character that folded to several bytes.
fn render_mapped(orig: &[u8], f: &Folded, edits: &[Edit]) -> (String, bool) {
    let mut out = Vec::with_capacity(orig.len());
    let mut map = Mapper { segs: &f.segs, next: 0 };
    let mut copied = 0;
    let mut exact = true;
    for e in edits {
        match *e {
            Edit::Star(p) => {
                let o = map.locate(p);
                exact &= !o.several;
                // A second hidden digit of a character already replaced.
                if o.orig.0 < copied {
                    continue;
                }
                out.extend_from_slice(&orig[copied..o.orig.0]);
                out.push(b'*');
                copied = o.orig.1;
            }
            Edit::Email { start, at } => {
                let first = map.locate(start);
                let sign = map.locate(at);
                exact &= !first.several;
                if first.orig.0 >= copied {
                    out.extend_from_slice(&orig[copied..first.orig.1]);
                    out.extend_from_slice(b"***");
                    copied = sign.orig.0;
                }
            }
        }
    }
    out.extend_from_slice(&orig[copied..]);
    // Whole original characters were copied or replaced by ASCII, so this stays UTF-8.
    (String::from_utf8(out).expect("masking keeps UTF-8"), exact)
}

/// Bytes that can start a match, and (in the first pass over an unfolded text) the lead bytes of characters
/// that may fold.
const TRIGGER: [bool; 256] = {
    let mut t = FOLD_LEAD;
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t[b'@' as usize] = true;
    t
};

/// Characters of an email's local part (RFC 5322 atext, minus the rare ones that read as punctuation).
fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'-'
}

/// One digit group of a chain: bytes `start..end` are digits, the chain's digits `d0..d0 + len`; `x` when an
/// `X` directly follows (a resident ID's check character), which also ends the chain.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    d0: usize,
    x: bool,
}

impl Group {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// One scan over a text.
struct Scanner<'a> {
    b: &'a [u8],
    edits: Vec<Edit>,
    /// Everything before this offset is settled (an email's local part may not reach back past it).
    settled: usize,
    groups: Vec<Group>,
    /// The chain's digits, in order.
    digits: Vec<u8>,
    /// Luhn prefix sums: `luhn[k][i]` sums the first `i` digits, doubling those whose index has parity `k`.
    luhn: [Vec<u32>; 2],
    /// The chain's digits to hide.
    hidden: Vec<bool>,
    /// Forward email probe memo: every position before `probe_end` (and after the last probe start) belongs
    /// to a local-part run ending at `probe_end`; `probe_hit` tells whether an email's `@` is there.
    probe_end: usize,
    probe_hit: bool,
}

/// The scanner's buffers, kept from one pass to the next so a pass allocates only for what it finds.
#[derive(Default)]
struct Work {
    groups: Vec<Group>,
    digits: Vec<u8>,
    luhn: [Vec<u32>; 2],
    hidden: Vec<bool>,
}

/// The text holds a character that folds: scan its folded copy instead.
struct NeedsFolding;

/// The edits one pass makes to `b` (empty when nothing is found). With `unfolded`, the pass stops at the
/// first character that folds, so the common text (nothing folds) is read once, not folded and then scanned.
fn scan(b: &[u8], work: &mut Work, unfolded: bool) -> Result<Vec<Edit>, NeedsFolding> {
    let Work { groups, digits, luhn, hidden } = std::mem::take(work);
    let mut s =
        Scanner { b, edits: Vec::new(), settled: 0, groups, digits, luhn, hidden, probe_end: 0, probe_hit: false };
    let n = b.len();
    let mut i = 0;
    while i < n {
        // The hot loop: skip bytes that cannot start anything.
        while i < n && !TRIGGER[b[i] as usize] {
            i += 1;
        }
        if i >= n {
            break;
        }
        i = match b[i] {
            b'@' => s.at(i),
            b'0'..=b'9' => s.chain(i),
            _ => {
                let (fold, len) = fold_at(b, i);
                if unfolded && fold != Fold::Keep {
                    break;
                }
                i + len
            }
        };
    }
    *work = Work { groups: s.groups, digits: s.digits, luhn: s.luhn, hidden: s.hidden };
    if i < n { Err(NeedsFolding) } else { Ok(s.edits) }
}

/// Whether `d` starts with a mainland area code, and its length with the leading `0`: `010`, `02x`, or
/// `0[3-9]xx`.
fn area_code_len(d: &[u8]) -> Option<usize> {
    match d {
        [0, 1, 0, ..] | [0, 2, _, ..] => Some(3),
        [0, 3..=9, _, _, ..] => Some(4),
        _ => None,
    }
}

impl Scanner<'_> {
    /// Whether the local-part run from `p` ends at the `@` of a valid email; memoised so a long run is
    /// walked once however many digit groups start inside it.
    fn leads_to_email(&mut self, p: usize) -> bool {
        if p < self.probe_end {
            return self.probe_hit;
        }
        let b = self.b;
        let mut e = p;
        while e < b.len() && is_local(b[e]) {
            e += 1;
        }
        self.probe_end = e;
        self.probe_hit = e < b.len() && b[e] == b'@' && domain_end(b, e + 1).is_some();
        self.probe_hit
    }

    /// At an `@`: mask the email around it, if it is one. Returns where to continue.
    fn at(&mut self, at: usize) -> usize {
        let b = self.b;
        let Some(end) = domain_end(b, at + 1) else { return at + 1 };
        let floor = self.settled.max(at.saturating_sub(MAX_LOCAL));
        let mut start = at;
        while start > floor && is_local(b[start - 1]) {
            start -= 1;
        }
        // A local part starts with a letter or digit (drops "--" or "." used as punctuation before it).
        while start < at && !b[start].is_ascii_alphanumeric() {
            start += 1;
        }
        if start == at {
            return at + 1;
        }
        self.edits.push(Edit::Email { start, at });
        self.settled = end;
        end
    }

    /// At the first digit of a run: read the chain of groups, find every match in it, hide their digits.
    /// Returns where to continue.
    fn chain(&mut self, first: usize) -> usize {
        let b = self.b;
        let n = b.len();
        // A digit right after a digit is inside a run already handled (cannot happen from the main loop, but
        // `at` may return into a domain's digits).
        if first > 0 && b[first - 1].is_ascii_digit() {
            let mut p = first;
            while p < n && b[p].is_ascii_digit() {
                p += 1;
            }
            return p;
        }
        let plus = first > 0 && b[first - 1] == b'+' && (first < 2 || !b[first - 2].is_ascii_alphanumeric());
        self.groups.clear();
        self.digits.clear();
        let mut p = first;
        let mut resume = None;
        loop {
            if self.leads_to_email(p) {
                // This group begins an email's local part: the email wins; continue at its `@`.
                resume = Some(self.probe_end);
                break;
            }
            let start = p;
            while p < n && b[p].is_ascii_digit() {
                self.digits.push(b[p] - b'0');
                p += 1;
            }
            let x = p < n && (b[p] == b'X' || b[p] == b'x');
            let d0 = self.digits.len() - (p - start);
            self.groups.push(Group { start, end: p, d0, x });
            if x {
                p += 1;
                break;
            }
            // An area code in parentheses: `(021)12345678`, `(0755) 1234 5678`.
            let mut q = p;
            if self.groups.len() == 1
                && start > 0
                && b[start - 1] == b'('
                && q < n
                && b[q] == b')'
                && area_code_len(&self.digits).is_some_and(|a| a == p - start)
            {
                q += 1;
                if q < n && matches!(b[q], b' ' | b'-') {
                    q += 1;
                }
                if q < n && b[q].is_ascii_digit() {
                    p = q;
                    continue;
                }
            }
            if p + 1 < n && matches!(b[p], b' ' | b'-' | b'.') && b[p + 1].is_ascii_digit() {
                p += 1;
            } else {
                break;
            }
        }
        // No rule matches fewer than 8 digits (prices, order numbers, times end here).
        if self.digits.len() >= 8 && self.find_matches(plus) {
            for g in &self.groups {
                for (k, pos) in (g.start..g.end).enumerate() {
                    if self.hidden[g.d0 + k] {
                        self.edits.push(Edit::Star(pos));
                    }
                }
            }
            self.settled = p;
        }
        resume.unwrap_or(p).max(first + 1)
    }

    /// Tries every rule on every run of groups holding at most [`MAX_SPAN_DIGITS`] digits; fills `hidden`.
    /// Answers whether anything is hidden.
    fn find_matches(&mut self, plus: bool) -> bool {
        let g = &self.groups;
        let d = &self.digits;
        let n = d.len();
        self.hidden.clear();
        self.hidden.resize(n, false);
        let mut any = false;
        let mut hide = |from: usize, to: usize| {
            if from < to {
                self.hidden[from..to].fill(true);
                any = true;
            }
        };
        if plus {
            // E.164: the chain's first groups, right after the `+`.
            for grp in g {
                let digits = grp.d0 + grp.len();
                if digits > 15 {
                    break;
                }
                if digits >= 8 {
                    hide(country_code_len(d), digits - 4);
                }
            }
        }
        // Luhn prefix sums, so each candidate run is checked in constant time (only a chain long enough for a
        // card needs them).
        for (parity, sums) in self.luhn.iter_mut().enumerate().filter(|_| n >= 13) {
            sums.clear();
            sums.push(0);
            let mut acc = 0u32;
            for (i, v) in d.iter().enumerate() {
                let v = u32::from(*v);
                acc += if i % 2 == parity {
                    let x = v * 2;
                    if x > 9 { x - 9 } else { x }
                } else {
                    v
                };
                sums.push(acc);
            }
        }
        let luhn = &self.luhn;
        for s in 0..g.len() {
            let a = g[s].d0;
            for e in s..g.len() {
                let z = g[e].d0 + g[e].len();
                let digits = z - a;
                if digits > MAX_SPAN_DIGITS {
                    break;
                }
                let span = &g[s..=e];
                let ds = &d[a..z];
                let id = is_resident_id(ds, g[e].x);
                if id {
                    hide(a + 6, a + 14);
                }
                if digits == 11 && ds[0] == 1 && (3..=9).contains(&ds[1]) {
                    hide(a + 3, a + 7);
                }
                // A landline: the area code as its own group (or in parentheses) and a local number not starting
                // with 0; or grouped otherwise (one run included) when the local number starts with 2–9, as
                // mainland numbers do, which keeps the rule off longer order numbers.
                if let Some(area) = area_code_len(ds)
                    && (7..=8).contains(&(digits - area))
                    && if span.len() > 1 && span[0].len() == area { ds[area] != 0 } else { ds[area] >= 2 }
                {
                    hide(a + area, z - 4);
                }
                let card_groups = span.len() == 1
                    || span.iter().all(|grp| (3..=6).contains(&grp.len()))
                    || span.iter().all(|grp| grp.len() == 1);
                if !id && (13..=MAX_SPAN_DIGITS).contains(&digits) && card_groups {
                    // Luhn doubles every second digit counting from the right: those whose index has the
                    // parity of `z`.
                    let sums = &luhn[z % 2];
                    if (sums[z] - sums[a]).is_multiple_of(10) {
                        hide(a, z - 4);
                    }
                }
            }
        }
        any
    }
}

/// Where the domain after an `@` ends, when it is a valid one: labels of letters, digits and inner dashes,
/// at least two, the last of 2+ letters. A trailing dot or dash (sentence punctuation) is not part of it.
fn domain_end(b: &[u8], from: usize) -> Option<usize> {
    let limit = b.len().min(from + MAX_DOMAIN);
    let mut end = from;
    while end < limit && is_domain(b[end]) {
        end += 1;
    }
    while end > from && matches!(b[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let domain = &b[from..end];
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.split(|c| *c == b'.') {
        if label.is_empty() || label.len() > 63 || label[0] == b'-' || label[label.len() - 1] == b'-' {
            return None;
        }
        labels += 1;
        last = label;
    }
    (labels >= 2 && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)).then_some(end)
}

/// Luhn check over digit values (tests use it to build valid numbers).
#[cfg(test)]
fn luhn(digits: &[u8]) -> bool {
    let n = digits.len();
    let mut sum = 0u32;
    for (i, d) in digits.iter().enumerate() {
        let d = u32::from(*d);
        // Double every second digit counting from the right (the check digit is not doubled).
        sum += if (n - i).is_multiple_of(2) {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    sum.is_multiple_of(10)
}

/// ISO 7064 MOD 11-2 weights of a resident ID's first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The check character of a resident ID's first 17 digits.
pub fn resident_id_check(first17: &[u8; 17]) -> u8 {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(*d) * w).sum();
    ID_CHECK[(sum % 11) as usize]
}

/// Whether two digits are a province-level code of GB/T 2260 (or 71, 81–83 for Taiwan, Hong Kong and Macao
/// residents, 91 for foreigners' permanent residence).
fn is_province(a: u8, b: u8) -> bool {
    matches!(
        (a, b),
        (1, 1..=5) | (2, 1..=3) | (3, 1..=7) | (4, 1..=6) | (5, 0..=4) | (6, 1..=5) | (7, 1) | (8, 1..=3) | (9, 1)
    )
}

/// Whether digits (with `x`: followed by an `X`) are a mainland resident ID: 18 digits, or 17 and an `X`; a
/// plausible birth date (1800–2099, month 1–12, day 1–31); and a known province code or a valid check
/// character. A wrong check character alone does not clear it: a mistyped ID still identifies someone.
fn is_resident_id(d: &[u8], x: bool) -> bool {
    if !((d.len() == 18 && !x) || (d.len() == 17 && x)) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |a, v| a * 10 + u32::from(*v));
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    if d[0] == 0 || !(1800..=2099).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    if is_province(d[0], d[1]) {
        return true;
    }
    let first17: [u8; 17] = d[..17].try_into().expect("17 digits");
    let actual = if x { b'X' } else { d[17] + b'0' };
    resident_id_check(&first17) == actual
}

/// How many of an E.164 number's leading digits are its country code (ITU-T E.164 assignments: `1` and `7`
/// are one digit, a fixed list of two-digit codes, every other code three digits).
fn country_code_len(d: &[u8]) -> usize {
    let first = d.first().copied().unwrap_or(0);
    let second = d.get(1).copied().unwrap_or(0);
    if matches!(first, 1 | 7) {
        return 1;
    }
    let two = first * 10 + second;
    const TWO_DIGIT: &[u8] = &[
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61,
        62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];
    if TWO_DIGIT.contains(&two) { 2 } else { 3 }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Appends the Luhn check digit to `body`.
    fn with_luhn(body: &str) -> String {
        (0..10).map(|d| format!("{body}{d}")).find(|c| luhn_str(c)).expect("one check digit fits")
    }

    fn luhn_str(s: &str) -> bool {
        luhn(&s.bytes().map(|b| b - b'0').collect::<Vec<_>>())
    }

    /// Appends the resident ID check character to 17 digits.
    fn with_id_check(first17: &str) -> String {
        let mut d = [0u8; 17];
        for (slot, c) in d.iter_mut().zip(first17.bytes()) {
            *slot = c - b'0';
        }
        format!("{first17}{}", resident_id_check(&d) as char)
    }

    #[test]
    fn api_examples() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
        assert_eq!(mask_text("我的手机是13812345678，谢谢"), "我的手机是138****5678，谢谢");
        assert_eq!(mask_text("email zhang@example.com please"), "email z***@example.com please");
    }

    #[test]
    fn mobiles() {
        assert_eq!(mask_text("13812345678"), "138****5678");
        assert_eq!(mask_text("手机13812345678"), "手机138****5678");
        assert_eq!(mask_text("tel:19912345678."), "tel:199****5678.");
        assert_eq!(mask_text("**13812345678**"), "**138****5678**", "markdown emphasis is a boundary");
        assert_eq!(mask_text("138 1234 5678"), "138 **** 5678");
        assert_eq!(mask_text("138-1234-5678"), "138-****-5678");
        assert_eq!(mask_text("call 86-13812345678"), "call 86-138****5678");
        // Not mobiles: inside a longer run, wrong second digit, too short.
        for plain in ["013812345678", "138123456789", "12345678901", "1381234567", "order 2024-11-25 12:30"] {
            assert!(matches!(mask_text(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn e164() {
        assert_eq!(mask_text("+86 138 1234 5678"), "+86 *** **** 5678");
        assert_eq!(mask_text("+1 415-555-0123"), "+1 ***-***-0123");
        assert_eq!(mask_text("+44 20 7946 0958"), "+44 ** **** 0958");
        assert_eq!(mask_text("+852 6123 4567"), "+852 **** 4567");
        assert!(mask_text("+8613812345678").ends_with("*******5678"));
        // Too short, too long (the 15-digit prefix is masked), or `+` inside an expression.
        assert!(matches!(mask_text("+86 1234"), Cow::Borrowed(_)));
        assert!(matches!(mask_text("x+12345678"), Cow::Borrowed(_)));
        assert!(matches!(mask_text("1+1=2, C++"), Cow::Borrowed(_)));
    }

    #[test]
    fn emails() {
        assert_eq!(mask_text("联系 zhang.san@example.com。"), "联系 z***@example.com。");
        assert_eq!(mask_text("<li+kefu@mail.example.com.cn>"), "<l***@mail.example.com.cn>");
        assert_eq!(mask_text("mailto:a@b.co"), "mailto:a***@b.co");
        assert_eq!(mask_text("13812345678@qq.com"), "1***@qq.com", "the email wins over the mobile");
        assert_eq!(mask_text("123456789@qq.com"), "1***@qq.com");
        assert_eq!(mask_text("--zhang@x.com--"), "--z***@x.com--");
        for plain in ["@张三 你好", "user@localhost", "a@b.c", "a@-b.com", "@@", "me@", "z***@example.com", "x@1.23"]
        {
            assert!(matches!(mask_text(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn resident_ids() {
        // The example of GB 11643-1999.
        assert_eq!(mask_text("身份证11010519491231002X"), "身份证110105********002X");
        assert_eq!(mask_text("id 11010519491231002x ok"), "id 110105********002x ok");
        assert_eq!(mask_text("110105 19491231 002X"), "110105 ******** 002X");
        let id = with_id_check("44030420000101123");
        assert_eq!(mask_text(&id), format!("440304********{}", &id[14..]));
        // A wrong check character is still an ID (a mistyped ID identifies someone as well as a right one).
        let mut bad = id.clone().into_bytes();
        bad[17] = if bad[17] == b'1' { b'2' } else { b'1' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(mask_text(&bad), format!("440304********{}", &bad[14..]));
        assert_eq!(mask_text("身份证110105194912310021"), "身份证110105********0021");
        assert_eq!(mask_text("11010519491231002"), "11010519491231002", "17 digits without a check character");
        // An impossible birth date is not an ID (and not a Luhn card here); nor is an unknown province with a
        // wrong check character.
        let undated = with_id_check("44030420001301123");
        if !luhn_str(&undated) {
            assert!(matches!(mask_text(&undated), Cow::Borrowed(_)));
        }
        let nowhere = with_id_check("99030420000101123");
        assert_eq!(mask_text(&nowhere), format!("990304********{}", &nowhere[14..]), "a valid check is enough");
        let mut nowhere_bad = nowhere.into_bytes();
        nowhere_bad[17] = if nowhere_bad[17] == b'1' { b'2' } else { b'1' };
        let nowhere_bad = String::from_utf8(nowhere_bad).unwrap();
        if !luhn_str(&nowhere_bad) {
            assert!(matches!(mask_text(&nowhere_bad), Cow::Borrowed(_)), "{nowhere_bad}");
        }
    }

    #[test]
    fn full_width_and_other_compatibility_forms() {
        // What Chinese input methods type: full-width digits, signs and letters, the ideographic space.
        assert_eq!(mask_text("我的手机是１３８１２３４５６７８，谢谢"), "我的手机是１３８****５６７８，谢谢");
        assert_eq!(mask_text("１３８　１２３４　５６７８"), "１３８　****　５６７８");
        assert_eq!(mask_text("邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ。"), "邮箱ｚ***＠ｅｘａｍｐｌｅ．ｃｏｍ。");
        assert_eq!(mask_text("zhang＠example．com"), "z***＠example．com");
        assert_eq!(mask_text("zhang﹫example.com"), "z***﹫example.com", "small-form commercial at");
        assert_eq!(mask_text("＋８６ １３８ １２３４ ５６７８"), "＋８６ *** **** ５６７８");
        assert_eq!(mask_text("４１１１ １１１１ １１１１ １１１１"), "**** **** **** １１１１");
        assert_eq!(mask_text("身份证１１０１０５１９４９１２３１００２Ｘ"), "身份证１１０１０５********００２Ｘ");
        // Mixed widths, circled and mathematical digits.
        assert_eq!(mask_text("13８1２345678"), "13８****5678");
        assert_eq!(mask_text("①③⑧①②③④⑤⑥⑦⑧"), "①③⑧****⑤⑥⑦⑧");
        assert_eq!(mask_text("𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖"), "𝟏𝟑𝟖****𝟓𝟔𝟕𝟖");
        // A character folding to several digits is hidden whole when any of them is.
        assert_eq!(mask_text("138⑫345678"), "138***5678");
        // Full-width punctuation that matters to no rule stays a boundary.
        assert!(matches!(mask_text("订单（48213），价格：１９９．００元！"), Cow::Borrowed(_)));
    }

    #[test]
    fn folding_agrees_with_nfkc_wherever_it_matters() {
        use unicode_normalization::UnicodeNormalization;
        // Every character whose NFKC form is short ASCII that some rule looks at folds to exactly that (the
        // quick paths for Chinese text skip nothing that matters), and nothing else folds except invisible
        // characters and dashes.
        for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
            let text = c.to_string();
            let nfkc: String = text.nfkc().collect();
            let wanted = nfkc.len() <= 8 && nfkc.is_ascii() && nfkc.bytes().any(matters);
            let got = fold(&text).map(|f| String::from_utf8(f.bytes).unwrap());
            if wanted {
                assert_eq!(got.as_deref(), Some(nfkc.as_str()), "U+{:04X}", u32::from(c));
            } else if let Some(got) = got {
                assert!(got.is_empty() || got == "-", "U+{:04X} folds to {got:?}", u32::from(c));
            }
        }
    }

    #[test]
    fn invisible_characters_and_split_numbers() {
        let zw = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{202E}'];
        for z in zw {
            let text = format!("138{z}1234{z}5678");
            assert_eq!(mask_text(&text), format!("138{z}****{z}5678"), "{:?}", z);
            let text = format!("1{z}3{z}8{z}1{z}2{z}3{z}4{z}5{z}6{z}7{z}8");
            assert_eq!(mask_text(&text), format!("1{z}3{z}8{z}*{z}*{z}*{z}*{z}5{z}6{z}7{z}8"), "{:?}", z);
        }
        assert_eq!(mask_text("zh\u{200B}ang@example.com"), "z***@example.com");
        assert_eq!(mask_text("138.1234.5678"), "138.****.5678");
        assert_eq!(mask_text("1 3 8 1 2 3 4 5 6 7 8"), "1 3 8 * * * * 5 6 7 8");
        assert_eq!(mask_text("1.3.8.1.2.3.4.5.6.7.8"), "1.3.8.*.*.*.*.5.6.7.8");
        assert_eq!(mask_text("13 8123 45678"), "13 8*** *5678");
        assert_eq!(mask_text("138—1234—5678"), "138—****—5678", "dashes read as -");
        assert_eq!(mask_text("4111.1111.1111.1111"), "****.****.****.1111");
        assert_eq!(mask_text("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"), "* * * * * * * * * * * * 1 1 1 1");
        assert_eq!(mask_text("4111\u{200B}1111\u{200B}1111\u{200B}1111"), "****\u{200B}****\u{200B}****\u{200B}1111");
        assert_eq!(mask_text("110105.19491231.002X"), "110105.********.002X");
        // Dots still leave prices, versions and addresses alone.
        for plain in ["¥199.00", "v1.2.3", "192.168.100.200", "2024.11.25", "3.1415926"] {
            assert!(matches!(mask_text(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn landlines_with_an_area_code() {
        assert_eq!(mask_text("010-12345678"), "010-****5678");
        assert_eq!(mask_text("电话 0755 1234 5678"), "电话 0755 **** 5678");
        assert_eq!(mask_text("(021)12345678"), "(021)****5678");
        assert_eq!(mask_text("(0755) 8765-4321"), "(0755) ****-4321");
        assert_eq!(mask_text("（０２１）１２３４５６７８"), "（０２１）****５６７８");
        assert_eq!(mask_text("02187654321"), "021****4321");
        assert_eq!(mask_text("075587654321"), "0755****4321");
        assert_eq!(mask_text("0571-8765432"), "0571-***5432", "a 7-digit local number");
        // No area code, a local number starting with 0 or 1, or the wrong length: left alone.
        for plain in [
            "87654321",
            "010-02345678",
            "0755 1234 56",
            "0755-123456789",
            "01012345678",
            "(012)12345678",
            "013812345678",
        ] {
            assert!(matches!(mask_text(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn cards() {
        assert_eq!(mask_text("4111111111111111"), "************1111");
        assert_eq!(mask_text("card 4111 1111 1111 1111."), "card **** **** **** 1111.");
        assert_eq!(mask_text("4111-1111-1111-1111"), "****-****-****-1111");
        let unionpay = with_luhn("622202123456789012");
        assert_eq!(unionpay.len(), 19);
        assert_eq!(mask_text(&unionpay), format!("{}{}", "*".repeat(15), &unionpay[15..]));
        let grouped = format!(
            "{} {} {} {} {}",
            &unionpay[..4],
            &unionpay[4..8],
            &unionpay[8..12],
            &unionpay[12..16],
            &unionpay[16..]
        );
        assert_eq!(mask_text(&grouped), format!("**** **** **** ***{} {}", &unionpay[15..16], &unionpay[16..]));
        // Luhn fails, or a 20-digit order number: left alone.
        assert!(matches!(mask_text("4111111111111112"), Cow::Borrowed(_)));
        assert!(matches!(mask_text("订单号 20241125123456789012"), Cow::Borrowed(_)));
        // A card inside a longer chain is found, and overlapping readings hide the union.
        let out = mask_text("ref 2024 4111 1111 1111 1111");
        assert!(out.ends_with("**** **** 1111") && !out.contains("1111 1111"), "{out}");
    }

    #[test]
    fn several_in_one_message() {
        let text =
            "我叫张三，手机 13812345678，邮箱 zhang@example.com，卡号 4111 1111 1111 1111，身份证 11010519491231002X。";
        assert_eq!(
            mask_text(text),
            "我叫张三，手机 138****5678，邮箱 z***@example.com，卡号 **** **** **** 1111，身份证 110105********002X。"
        );
    }

    #[test]
    fn fields() {
        assert_eq!(mask_email("Zhang.San@Example.com"), "Z***@Example.com");
        assert_eq!(mask_email("李@例子.中国"), "李***@例子.中国");
        assert_eq!(mask_email(""), "");
        assert_eq!(mask_email("noat"), "n***");
        assert_eq!(mask_phone("+86 138 1234 5678"), "+86 *** **** 5678");
        assert_eq!(mask_phone("+14155550123"), "+1******0123");
        assert_eq!(mask_phone("010-12345678"), "010-****5678");
        assert_eq!(mask_phone("5550123"), "***0123");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone(""), "");
        // Full-width digits are digits, and a full-width `＠` is an `@`.
        assert_eq!(mask_phone("１３８００１３８０００"), "１３８****８０００");
        assert_eq!(mask_phone("５５５０１２３"), "***０１２３");
        assert_eq!(mask_email("ｚｈａｎｇ＠example.com"), "ｚ***＠example.com");
        for p in ["13812345678", "+86 138 1234 5678", "010-12345678", "5550123", "12345", "+852 6123 4567"] {
            let once = mask_phone(p);
            assert_eq!(mask_phone(&once), once, "{p}");
        }
        for e in ["zhang@example.com", "a@b.co", "x"] {
            let once = mask_email(e);
            assert_eq!(mask_email(&once), once, "{e}");
        }
    }

    #[test]
    fn long_inputs_stay_linear() {
        // A long local-part run without an `@`, and a long chain of small numbers.
        let a = "a1".repeat(200_000);
        assert!(matches!(mask_text(&a), Cow::Borrowed(_)));
        let chain = "12 ".repeat(200_000);
        assert!(matches!(mask_text(&chain), Cow::Borrowed(_)));
    }

    // ---- property tests ----

    #[derive(Debug, Clone)]
    struct Sensitive {
        /// As written in the text.
        text: String,
    }

    fn mobile() -> impl Strategy<Value = Sensitive> {
        ("1[3-9][0-9]{9}", 0..3usize).prop_map(|(m, style)| {
            let text = match style {
                0 => m,
                1 => format!("{} {} {}", &m[..3], &m[3..7], &m[7..]),
                _ => format!("{}-{}-{}", &m[..3], &m[3..7], &m[7..]),
            };
            Sensitive { text }
        })
    }

    fn e164_number() -> impl Strategy<Value = Sensitive> {
        (prop::sample::select(vec!["1", "7", "44", "86", "49", "852", "886", "971"]), "[0-9]{7,12}", any::<bool>())
            .prop_filter("8 to 15 digits", |(cc, n, _)| (8..=15).contains(&(cc.len() + n.len())))
            .prop_map(|(cc, n, spaced)| {
                let text = if spaced {
                    let (a, b) = n.split_at(n.len() / 2);
                    format!("+{cc} {a} {b}")
                } else {
                    format!("+{cc}{n}")
                };
                Sensitive { text }
            })
    }

    fn email() -> impl Strategy<Value = Sensitive> {
        (
            "[a-z0-9][a-z0-9._+-]{0,15}",
            "[a-z0-9]{1,10}",
            prop::option::of("[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?"),
            "[a-z]{2,6}",
        )
            .prop_map(|(local, host, sub, tld)| {
                let text = match sub {
                    Some(sub) => format!("{local}@{host}.{sub}.{tld}"),
                    None => format!("{local}@{host}.{tld}"),
                };
                Sensitive { text }
            })
    }

    fn resident_id() -> impl Strategy<Value = Sensitive> {
        (province(), "[0-9]{4}", 1900..2025u32, 1..=12u32, 1..=28u32, "[0-9]{3}", any::<bool>()).prop_map(
            |(province, county, y, m, d, seq, grouped)| {
                let id = with_id_check(&format!("{province}{county}{y:04}{m:02}{d:02}{seq}"));
                let text = if grouped { format!("{} {} {}", &id[..6], &id[6..14], &id[14..]) } else { id };
                Sensitive { text }
            },
        )
    }

    fn card() -> impl Strategy<Value = Sensitive> {
        ("[2-6][0-9]{11,17}", 0..3usize).prop_map(|(body, style)| {
            let n = with_luhn(&body);
            let sep = match style {
                0 => None,
                1 => Some(' '),
                _ => Some('-'),
            };
            let text = match sep {
                None => n,
                Some(sep) => {
                    let chunks: Vec<&str> = n.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect();
                    // A last group of 1 or 2 digits is not how cards are written: join it to the one before.
                    let mut groups: Vec<String> = chunks.iter().map(|c| (*c).to_owned()).collect();
                    if groups.last().is_some_and(|g| g.len() < 3) {
                        let tail = groups.pop().unwrap();
                        groups.last_mut().unwrap().push_str(&tail);
                    }
                    groups.join(&sep.to_string())
                }
            };
            Sensitive { text }
        })
    }

    fn sensitive() -> impl Strategy<Value = Sensitive> {
        prop_oneof![mobile(), e164_number(), email(), resident_id(), card()]
    }

    /// Text without anything to mask: words, CJK, short numbers, `@` mentions and hostnames without a TLD,
    /// kept apart by punctuation that never joins numbers.
    fn innocent() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            "[\u{4e00}-\u{9fa5}]{1,8}",
            "[a-zA-Z]{1,10}( [a-zA-Z]{1,10}){0,3}",
            "[0-9]{1,6}",
            "@[\u{4e00}-\u{9fa5}]{1,3}",
            "[a-z]{1,8}@localhost",
            "[0-9]{1,3}\\+[0-9]{1,3}=",
            "¥[0-9]{1,5}\\.[0-9]{2}",
            "[!?.:;()*]{1,3}",
        ];
        prop::collection::vec(token, 0..12).prop_map(|t| t.join("，"))
    }

    fn separator() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![" ", "，", "\n", "。", "：", " (", ") ", "、"])
    }

    fn province() -> impl Strategy<Value = u8> {
        prop::sample::select(vec![
            11u8, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
            61, 62, 63, 64, 65, 71, 81, 82, 83, 91,
        ])
    }

    /// The folded form of a text, as the scanner reads it (for assertions).
    fn folded(text: &str) -> String {
        match fold(text) {
            Some(f) => String::from_utf8(f.bytes).unwrap(),
            None => text.to_owned(),
        }
    }

    /// The ASCII digits of a folded text, in order.
    fn digits_in(text: &str) -> String {
        folded(text).chars().filter(char::is_ascii_digit).collect()
    }

    /// How a number is disguised: which digits are written full-width, where it is split and by what,
    /// and where invisible characters hide.
    #[derive(Debug, Clone)]
    struct Disguise {
        wide: Vec<bool>,
        cuts: Vec<bool>,
        separator: &'static str,
        invisible: Vec<Option<&'static str>>,
    }

    fn disguise() -> impl Strategy<Value = Disguise> {
        let invisible = prop::option::weighted(
            0.15,
            prop::sample::select(vec!["\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{00AD}"]),
        );
        (
            prop::collection::vec(any::<bool>(), 20),
            prop::collection::vec(any::<bool>(), 20),
            prop::sample::select(vec![" ", ".", "-", "\u{3000}", "．", "\u{200B}", "\u{00A0}"]),
            prop::collection::vec(invisible, 20),
        )
            .prop_map(|(wide, cuts, separator, invisible)| Disguise { wide, cuts, separator, invisible })
    }

    fn wide(c: char) -> char {
        if c.is_ascii_graphic() { char::from_u32(u32::from(c) + 0xFEE0).unwrap() } else { c }
    }

    /// Writes `digits` disguised; `cut_every` splits into groups of that size (0: where `d.cuts` says).
    fn render(digits: &str, d: &Disguise, cut_every: usize) -> String {
        let mut out = String::new();
        let n = digits.chars().count();
        for (i, c) in digits.chars().enumerate() {
            out.push(if d.wide[i % 20] { wide(c) } else { c });
            if let Some(z) = d.invisible[i % 20] {
                out.push_str(z);
            }
            let cut = if cut_every == 0 { d.cuts[i % 20] } else { (i + 1) % cut_every == 0 };
            if cut && i + 1 < n {
                out.push_str(d.separator);
            }
        }
        out
    }

    /// A number in one of the disguises people use to slip it past a filter, with its digits.
    fn disguised_number() -> impl Strategy<Value = (String, String)> {
        let mobile = ("1[3-9][0-9]{9}", disguise()).prop_map(|(m, d)| (render(&m, &d, 0), m));
        let card = ("[2-6][0-9]{11,17}", disguise(), prop::sample::select(vec![1usize, 4, 100])).prop_map(
            |(body, d, every)| {
                let n = with_luhn(&body);
                // Cards come whole, in fours (a short last group joins the one before), or one digit at a time.
                let every = if every == 4 && matches!(n.len() % 4, 1 | 2) { 100 } else { every };
                (render(&n, &d, every), n)
            },
        );
        let id = (province(), "[0-9]{4}", 1900..2025u32, 1..=12u32, 1..=28u32, "[0-9]{3}", "[0-9X]", disguise())
            .prop_map(|(p, county, y, m, day, seq, check, d)| {
                // Any check character: right or mistyped.
                let digits = format!("{p}{county}{y:04}{m:02}{day:02}{seq}");
                let text = format!(
                    "{}{}",
                    render(&digits, &d, 0),
                    if d.wide[19] { wide(check.chars().next().unwrap()).to_string() } else { check.clone() }
                );
                (text, digits)
            });
        let landline = (
            prop::sample::select(vec!["010", "020", "021", "0755", "0571", "0898"]),
            "[2-9][0-9]{6,7}",
            0..4usize,
            disguise(),
        )
            .prop_map(|(area, local, style, d)| {
                let (a, l) = (render(area, &d, 100), render(&local, &d, 0));
                let text = match style {
                    0 => format!("{a}{}{l}", d.separator),
                    1 => format!("({a}){l}"),
                    2 => format!("（{a}）{l}"),
                    _ => format!("{a}{l}"),
                };
                (text, format!("{area}{local}"))
            });
        prop_oneof![mobile, card, id, landline]
    }

    /// An email written with full-width letters and signs or invisible characters; answers it and its
    /// folded `local@domain`.
    fn disguised_email() -> impl Strategy<Value = (String, String)> {
        (
            "[a-z0-9][a-z0-9._]{1,12}",
            "[a-z0-9]{1,10}",
            "[a-z]{2,6}",
            disguise(),
            prop::sample::select(vec!["@", "＠", "﹫"]),
            prop::sample::select(vec![".", "．"]),
        )
            .prop_map(|(local, host, tld, d, at, dot)| {
                let plain = format!("{local}@{host}.{tld}");
                let mut text = String::new();
                for (i, c) in local.chars().enumerate() {
                    text.push(if d.wide[i % 20] { wide(c) } else { c });
                    if let Some(z) = d.invisible[i % 20] {
                        text.push_str(z);
                    }
                }
                text.push_str(at);
                text.push_str(&host);
                text.push_str(dot);
                text.push_str(&tld);
                (text, plain)
            })
    }

    /// Words around the numbers: CJK and Latin, no digits.
    fn words() -> impl Strategy<Value = String> {
        prop_oneof!["[\u{4e00}-\u{9fa5}]{1,8}", "[a-zA-Z]{1,10}", Just(String::new())]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_leaks_a_full_match(
            parts in prop::collection::vec((innocent(), separator(), sensitive(), separator()), 1..5),
            tail in innocent(),
        ) {
            let mut text = String::new();
            for (noise, before, item, after) in &parts {
                text.push_str(noise);
                text.push_str(before);
                text.push_str(&item.text);
                text.push_str(after);
            }
            text.push_str(&tail);
            let out = mask_text(&text);
            prop_assert!(matches!(out, Cow::Owned(_)));
            for (_, _, item, _) in &parts {
                prop_assert!(!out.contains(&item.text), "{} leaked in {}", item.text, out);
            }
            prop_assert_eq!(mask_text(&out), out.clone(), "idempotent");
        }

        #[test]
        fn innocent_text_is_borrowed(text in innocent()) {
            prop_assert!(matches!(mask_text(&text), Cow::Borrowed(_)), "{}", text);
        }

        #[test]
        fn idempotent_on_anything(text in "[0-9 +@a-zX.*-]{0,80}|\\PC{0,80}") {
            let once = mask_text(&text).into_owned();
            prop_assert_eq!(mask_text(&once), Cow::Borrowed(once.as_str()));
            // Masking hides characters; it never adds any other than `*`.
            let visible = |s: &str| s.chars().filter(|c| *c != '*').count();
            prop_assert!(visible(&once) <= visible(&text));
        }

        #[test]
        fn field_masks_are_idempotent(phone in "\\+?[0-9 -]{0,20}", email in "[a-z0-9.]{0,10}@[a-z.]{0,10}") {
            let p = mask_phone(&phone);
            prop_assert_eq!(mask_phone(&p), p);
            let e = mask_email(&email);
            prop_assert_eq!(mask_email(&e), e);
        }

        #[test]
        fn disguised_numbers_never_survive(
            parts in prop::collection::vec((words(), separator(), disguised_number(), separator()), 1..4),
            tail in words(),
        ) {
            let mut text = String::new();
            for (noise, before, (item, _), after) in &parts {
                text.push_str(noise);
                text.push_str(before);
                text.push_str(item);
                text.push_str(after);
            }
            text.push_str(&tail);
            let out = mask_text(&text);
            let seen = digits_in(&out);
            for (_, _, (item, digits), _) in &parts {
                prop_assert!(!seen.contains(digits.as_str()), "{} ({}) survived in {}", item, digits, out);
            }
            // Outside the hidden digits the user's own characters stay: only `*` replaced anything.
            prop_assert_eq!(out.chars().filter(|c| *c != '*').count() <= text.chars().count(), true);
            prop_assert_eq!(mask_text(&out), out.clone(), "idempotent");
        }

        #[test]
        fn disguised_emails_never_survive(
            (text, plain) in disguised_email(),
            before in words(),
            sep in separator(),
        ) {
            let text = format!("{before}{sep}{text}");
            let out = mask_text(&text);
            prop_assert!(!folded(&out).contains(&plain), "{} survived in {}", plain, out);
            prop_assert_eq!(mask_text(&out), out.clone(), "idempotent");
        }
    }
}
