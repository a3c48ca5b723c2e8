//! Masking of personal data for readers without `customers.view_sensitive`: mobile numbers, emails, resident
//! ID numbers and bank card numbers, in free text ([`mask_text`]) and in customer fields ([`mask_email`],
//! [`mask_phone`]).
//!
//! # What is found in free text
//!
//! | kind | what | shown as |
//! |---|---|---|
//! | mainland mobile | `1[3-9]` + 9 digits, alone or grouped 3-4-4 by spaces/dashes | `138****5678`, `138-****-5678` |
//! | E.164 | `+`, then 8–15 digits, optionally grouped by single spaces/dashes | `+86*******5678` (country code and last 4) |
//! | email | `local@domain.tld` (ASCII; the TLD is 2+ letters) | `z***@example.com` |
//! | resident ID | 17 digits + digit/`X`, valid ISO 7064 MOD 11-2 check and a plausible birth date; alone or 6-8-4 | `110101********1234` (first 6, last 4) |
//! | bank card | 13–19 digits passing Luhn, alone or in groups of 3–6 digits | `************1111`, `**** **** **** 1111` |
//!
//! Masking only turns digits into `*` (and shortens an email's local part), so separators and the shape of
//! the text stay readable.
//!
//! # Boundaries
//! A number is a *chain*: digit groups joined by single spaces or dashes. A match is made of whole groups, so a
//! number is never found inside a longer digit run (`013812345678` is not a mobile). Letters, CJK text,
//! punctuation and `*` are boundaries (`手机13812345678`, `**13812345678**` are found).
//!
//! # Precedence
//! 1. **Email first.** A run of local-part characters that reaches an `@` with a valid domain is an email,
//!    even when it starts with digits (`13812345678@qq.com` → `1***@qq.com`): the number is the address's
//!    name there, and the email mask hides more of it.
//! 2. **Every other rule is tried on every run of up to six consecutive groups of a chain, and a digit is
//!    hidden if any match hides it** (the union). So an item is found however the text around it groups, and
//!    where two readings overlap the more conservative wins: a 20-digit chain `2024 4111 1111 1111 1111` whose
//!    first 16 digits happen to pass Luhn too ends up as `**** **** **** **** 1111`, never revealing the
//!    card's third group.
//! 3. **Resident ID before card on the same digits**: an 18-character run that is a valid resident ID is not
//!    also tried as a card, so IDs always read `110101********1234`.
//! 4. **Masking reaches a fixed point**: the output is scanned again until nothing changes (at most a few
//!    passes; each pass only adds `*`), so `mask_text(mask_text(x)) == mask_text(x)` for every input.
//!
//! Not found (by design, to keep false positives off order numbers and prices): numbers inside a longer digit
//! run, landlines without `+`, non-ASCII email addresses, IDs with an impossible birth date.
//!
//! # Speed
//! One pass over the bytes with a lookup table; only digits and `@` start any work, and everything it does
//! is bounded per byte (emails scan at most 64 bytes back; forward probes are memoised). Text with nothing to
//! mask is returned borrowed, without allocating. See `benches/README.md` for the numbers.

use std::borrow::Cow;

/// Longest local part looked at backwards from an `@` (RFC 5321's limit).
const MAX_LOCAL: usize = 64;
/// Longest domain looked at forwards from an `@`.
const MAX_DOMAIN: usize = 253;
/// Most groups one match may span (a 19-digit card in groups of 3).
const MAX_SPAN_GROUPS: usize = 6;

/// Masks every mobile number, E.164 number, email address, resident ID number and bank card number in
/// `text`. Returns the input itself (borrowed) when there is nothing to mask.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    let Some(mut owned) = mask_once(text) else { return Cow::Borrowed(text) };
    // Each pass only turns digits into `*` or shortens an email, so this ends; the second pass almost always
    // finds nothing.
    while let Some(next) = mask_once(&owned) {
        owned = next;
    }
    Cow::Owned(owned)
}

/// Masks an email address for display: the first character of the local part, `***`, and the domain
/// (`zhang.san@example.com` → `z***@example.com`). Something without an `@` keeps only its first character.
pub fn mask_email(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            // An already masked local part (`***`) stays as it is.
            let first = local.chars().next().filter(|c| *c != '*').map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
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
/// Separators stay where they were. Applying it twice changes nothing.
pub fn mask_phone(phone: &str) -> String {
    let text = mask_text(phone);
    // Count hidden digits (`*`) as digits, so an already masked number keeps its shape.
    let len = text.bytes().filter(|b| b.is_ascii_digit() || *b == b'*').count();
    let (keep_first, keep_last) = match len {
        11.. => (3, 4),
        7..=10 => (0, 4),
        _ => (0, 0),
    };
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() || c == '*' {
                let hide = seen >= keep_first && seen < len - keep_last;
                seen += 1;
                if hide { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

/// Bytes that can start a match.
const TRIGGER: [bool; 256] = {
    let mut t = [false; 256];
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

/// One digit group of a chain: `start..end` are digits; `x` when an `X` directly follows (a resident ID's
/// check character), which also ends the chain.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    x: bool,
}

impl Group {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Digits to hide: the digits with index `from..to` (counted among digits only) in the bytes `start..end`.
#[derive(Debug, Clone, Copy)]
struct Hide {
    start: usize,
    end: usize,
    from: usize,
    to: usize,
}

/// One scan over a text.
struct Scanner<'a> {
    b: &'a [u8],
    /// The masked text so far, when anything was masked; `b[copied..]` is not in it yet.
    out: Option<Vec<u8>>,
    copied: usize,
    groups: Vec<Group>,
    hides: Vec<Hide>,
    /// Forward email probe memo: every position before `probe_end` (and after the last probe start) belongs
    /// to a local-part run ending at `probe_end`; `probe_hit` tells whether an email's `@` is there.
    probe_end: usize,
    probe_hit: bool,
}

/// One masking pass; `None` when nothing was masked.
fn mask_once(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut s =
        Scanner { b, out: None, copied: 0, groups: Vec::new(), hides: Vec::new(), probe_end: 0, probe_hit: false };
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
        i = if b[i] == b'@' { s.at(i) } else { s.chain(i) };
    }
    let mut out = s.out?;
    out.extend_from_slice(&b[s.copied..]);
    // Only ASCII digits became `*` and only whole ASCII runs were replaced, so this stays UTF-8.
    Some(String::from_utf8(out).expect("masking keeps UTF-8"))
}

impl Scanner<'_> {
    fn out_upto(&mut self, pos: usize) -> &mut Vec<u8> {
        let out = self.out.get_or_insert_with(|| Vec::with_capacity(self.b.len()));
        out.extend_from_slice(&self.b[self.copied..pos]);
        self.copied = pos;
        out
    }

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
        let floor = self.copied.max(at.saturating_sub(MAX_LOCAL));
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
        let out = self.out_upto(start);
        out.push(b[start]);
        out.extend_from_slice(b"***");
        self.copied = at;
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
                p += 1;
            }
            let len = p - start;
            let x = matches!(len, 17 | 3) && p < n && (b[p] == b'X' || b[p] == b'x');
            self.groups.push(Group { start, end: p, x });
            if x {
                p += 1;
                break;
            }
            if p + 1 < n && (b[p] == b' ' || b[p] == b'-') && b[p + 1].is_ascii_digit() {
                p += 1;
            } else {
                break;
            }
        }
        self.find_matches(plus);
        if !self.hides.is_empty() {
            let (Some(lo), Some(hi)) = (self.groups.first(), self.groups.last()) else { return p };
            let (lo, hi) = (lo.start, hi.end);
            let hides = std::mem::take(&mut self.hides);
            let base = {
                let out = self.out_upto(lo);
                let base = out.len();
                out.extend_from_slice(&b[lo..hi]);
                base
            };
            self.copied = hi;
            let out = self.out.as_mut().expect("written above");
            for h in &hides {
                let mut k = 0;
                for pos in h.start..h.end {
                    if b[pos].is_ascii_digit() {
                        if k >= h.from && k < h.to {
                            out[base + pos - lo] = b'*';
                        }
                        k += 1;
                    }
                }
            }
            self.hides = hides;
            self.hides.clear();
        }
        resume.unwrap_or(p).max(first + 1)
    }

    /// Tries every rule on every run of up to [`MAX_SPAN_GROUPS`] groups; fills `hides`.
    fn find_matches(&mut self, plus: bool) {
        let b = self.b;
        let g = &self.groups;
        self.hides.clear();
        if plus {
            // E.164: the chain's first groups, right after the `+`.
            let mut digits = 0;
            for grp in g {
                digits += grp.len();
                if digits > 15 {
                    break;
                }
                if digits >= 8 {
                    let cc = country_code_len(b, g);
                    self.hides.push(Hide { start: g[0].start, end: grp.end, from: cc, to: digits - 4 });
                }
            }
        }
        for s in 0..g.len() {
            let mut digits = 0;
            for e in s..g.len().min(s + MAX_SPAN_GROUPS) {
                digits += g[e].len();
                if digits > 19 {
                    break;
                }
                let span = &g[s..=e];
                let (start, end) = (span[0].start, span[span.len() - 1].end);
                let hide = |from, to| Hide { start, end, from, to };
                let id = is_resident_id(b, span, digits);
                if id {
                    self.hides.push(hide(6, 14));
                }
                if span.len() == 1 {
                    if digits == 11 && b[start] == b'1' && (b'3'..=b'9').contains(&b[start + 1]) {
                        self.hides.push(hide(3, 7));
                    }
                } else if span.len() == 3
                    && span[0].len() == 3
                    && span[1].len() == 4
                    && span[2].len() == 4
                    && b[start] == b'1'
                    && (b'3'..=b'9').contains(&b[start + 1])
                {
                    self.hides.push(hide(3, 7));
                }
                let card_groups = span.len() == 1 || span.iter().all(|grp| (3..=6).contains(&grp.len()));
                if !id && (13..=19).contains(&digits) && card_groups && luhn(b, span) {
                    self.hides.push(hide(0, digits - 4));
                }
            }
        }
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

/// The digits of a span of groups, in order.
fn digits_of<'b>(b: &'b [u8], span: &'b [Group]) -> impl Iterator<Item = u8> + 'b {
    span.iter().flat_map(move |g| b[g.start..g.end].iter().map(|d| d - b'0'))
}

/// Luhn check over a span's digits.
fn luhn(b: &[u8], span: &[Group]) -> bool {
    let digits: usize = span.iter().map(Group::len).sum();
    let mut sum = 0u32;
    for (i, d) in digits_of(b, span).enumerate() {
        let d = u32::from(d);
        // Double every second digit counting from the right (the check digit is not doubled).
        sum += if (digits - i).is_multiple_of(2) {
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

/// Whether a span is a mainland resident ID: 18 digits, or 17 and an `X`; alone or grouped 6-8-4; a
/// plausible birth date (1800–2099, month 1–12, day 1–31) and a valid check character.
fn is_resident_id(b: &[u8], span: &[Group], digits: usize) -> bool {
    let x = span[span.len() - 1].x;
    let shape = match span.len() {
        1 => (digits == 18 && !x) || (digits == 17 && x),
        3 => span[0].len() == 6 && span[1].len() == 8 && ((span[2].len() == 4 && !x) || (span[2].len() == 3 && x)),
        _ => false,
    };
    if !shape {
        return false;
    }
    let mut d = [0u8; 18];
    for (slot, v) in d.iter_mut().zip(digits_of(b, span)) {
        *slot = v;
    }
    let num = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |a, v| a * 10 + u32::from(*v));
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    if d[0] == 0 || !(1800..=2099).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    let first17: [u8; 17] = d[..17].try_into().expect("17 digits");
    let expected = resident_id_check(&first17);
    let actual = if x { b'X' } else { d[17] + b'0' };
    expected == actual
}

/// How many of an E.164 number's leading digits are its country code (ITU-T E.164 assignments: `1` and `7`
/// are one digit, a fixed list of two-digit codes, every other code three digits).
fn country_code_len(b: &[u8], groups: &[Group]) -> usize {
    let mut it = digits_of(b, groups);
    let first = it.next().unwrap_or(0);
    let second = it.next().unwrap_or(0);
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
        let b = s.as_bytes();
        luhn(b, &[Group { start: 0, end: b.len(), x: false }])
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
        // A wrong check character or an impossible birth date is not an ID (and not a Luhn card here).
        let mut bad = id.clone().into_bytes();
        bad[17] = if bad[17] == b'1' { b'2' } else { b'1' };
        let bad = String::from_utf8(bad).unwrap();
        if !luhn_str(&bad) {
            assert!(matches!(mask_text(&bad), Cow::Borrowed(_)));
        }
        let undated = with_id_check("44030420001301123");
        if !luhn_str(&undated) {
            assert!(matches!(mask_text(&undated), Cow::Borrowed(_)));
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
        ("[1-8][0-9]{5}", 1900..2025u32, 1..=12u32, 1..=28u32, "[0-9]{3}", any::<bool>()).prop_map(
            |(region, y, m, d, seq, grouped)| {
                let id = with_id_check(&format!("{region}{y:04}{m:02}{d:02}{seq}"));
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
    }
}
