//! Purchases: the orders a tenant's shop pushes onto a customer (`POST /v1/customers/{id}/purchases`, an API key
//! with `customers.edit`), shown on the profile so an agent sees what the customer bought. Re-posting an
//! `order_id` updates that order rather than adding one, so the order id is the record's key.
//!
//! Amounts are exact: kept as an integer count of the currency's minor unit (fen, cents; yen have none), parsed
//! from the decimal text or JSON number the client sent without passing through a float, so `19.99` stays
//! 1999 fen and never becomes 1998.9999.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ValidationError;
use crate::text::bounded_text;

/// The most items one purchase lists.
pub const MAX_ITEMS: usize = 100;
/// The largest amount accepted, in minor units (10^13: a hundred billion yuan, far above any real order, far
/// below where sums of many orders could overflow an `i64`).
pub const MAX_MINOR_UNITS: i64 = 10_000_000_000_000;
/// How far ahead of the server's clock `purchased_at` may be (the shop's clock may run a little fast).
pub const MAX_CLOCK_AHEAD: SignedDuration = SignedDuration::from_hours(24);

/// A shop's order id: 1..=64 characters, no spaces or control characters. The key a re-post updates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    /// Checks an order id sent as `field` (usually `order_id`).
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 64 {
            return Err(ValidationError::new(field, "must be 1 to 64 characters"));
        }
        if t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ValidationError::new(field, "must not contain spaces or control characters"));
        }
        Ok(Self(t.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A currency: an ISO 4217 code, three letters, stored upper-case (`cny` → `CNY`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    /// Checks a currency code sent as `field` (usually `currency`).
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        if t.len() != 3 || !t.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ValidationError::new(field, "must be a three-letter currency code like CNY"));
        }
        Ok(Self(t.to_ascii_uppercase()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many decimal places the currency's minor unit has (ISO 4217): none for the yen, the won and a few
    /// others, three for the dinars of Bahrain, Iraq, Jordan, Kuwait, Libya and Tunisia and the Omani rial, two
    /// for the rest.
    pub fn exponent(&self) -> u32 {
        match self.0.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
            | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

/// An exact, non-negative amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// The amount in the currency's minor unit (fen for CNY).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Reads an amount sent as `field` (usually `amount`): a JSON number or a decimal string (`199`, `199.5`,
    /// `"199.50"`), at least zero, with no more decimals than the currency has (`1.999` CNY is refused rather
    /// than rounded: the shop's books would disagree with ours).
    pub fn parse(amount: &Value, currency: Currency, field: &str) -> Result<Self, ValidationError> {
        let text = match amount {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_owned(),
            _ => return Err(ValidationError::new(field, "must be a number like 199.00")),
        };
        let exp = currency.exponent();
        let minor = parse_decimal(&text, exp).ok_or_else(|| {
            ValidationError::new(
                field,
                format!("must be an amount of at least 0 with at most {exp} decimals in {}", currency.as_str()),
            )
        })?;
        if minor > MAX_MINOR_UNITS {
            return Err(ValidationError::new(field, "is larger than any order Kefu records"));
        }
        Ok(Self { minor, currency })
    }

    /// The amount as decimal text with the currency's decimals (`1999` fen → `19.99`).
    pub fn to_decimal(&self) -> String {
        let exp = self.currency.exponent();
        if exp == 0 {
            return self.minor.to_string();
        }
        let unit = 10i64.pow(exp);
        format!("{}.{:0width$}", self.minor / unit, self.minor % unit, width = exp as usize)
    }
}

/// `digits[.digits]` (a trailing `.0` of a JSON float allowed) as minor units with `exp` decimals, or `None`.
fn parse_decimal(s: &str, exp: u32) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let significant = frac.trim_end_matches('0');
    if significant.len() > exp as usize {
        return None;
    }
    let mut minor: i64 = whole.parse().ok()?;
    for i in 0..exp as usize {
        let d = significant.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        minor = minor.checked_mul(10)?.checked_add(d)?;
    }
    Some(minor)
}

/// One line of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseItem {
    /// What was bought, 1..=200 characters.
    pub name: String,
    /// How many, 1..=100,000 (1 when not given).
    pub quantity: u32,
}

impl PurchaseItem {
    /// Reads an item sent as `field` (`items[i]`): `{"name", "quantity"?}`, or only the name as a string.
    pub fn parse(v: &Value, field: &str) -> Result<Self, ValidationError> {
        let (name, quantity) = match v {
            Value::String(s) => (s.as_str(), None),
            Value::Object(o) => (
                o.get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ValidationError::new(format!("{field}.name"), "is required"))?,
                o.get("quantity").filter(|q| !q.is_null()),
            ),
            _ => return Err(ValidationError::new(field, "must be a name or {\"name\", \"quantity\"}")),
        };
        let name = bounded_text(name, &format!("{field}.name"), 1, 200, false)?;
        let quantity = match quantity {
            None => 1,
            Some(q) => {
                q.as_u64().and_then(|q| u32::try_from(q).ok()).filter(|q| (1..=100_000).contains(q)).ok_or_else(
                    || ValidationError::new(format!("{field}.quantity"), "must be a whole number, 1 to 100000"),
                )?
            }
        };
        Ok(Self { name, quantity })
    }
}

/// A purchase as pushed by a shop, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    /// The shop's order id: re-posting it updates this purchase.
    pub order_id: OrderId,
    /// What it cost.
    pub amount: Money,
    /// What was bought, at most 100 lines.
    pub items: Vec<PurchaseItem>,
    /// When it was bought (not more than a day ahead of `now`).
    pub purchased_at: Timestamp,
}

impl Purchase {
    /// Checks a pushed purchase: `order_id`, `amount` in `currency`, `items` (optional, at most 100) and
    /// `purchased_at` (RFC 3339, at most [`MAX_CLOCK_AHEAD`] after `now`). Each error names its field.
    pub fn parse(
        order_id: &str,
        amount: &Value,
        currency: &str,
        items: &[Value],
        purchased_at: &str,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        let order_id = OrderId::parse(order_id, "order_id")?;
        let amount = Money::parse(amount, Currency::parse(currency, "currency")?, "amount")?;
        if items.len() > MAX_ITEMS {
            return Err(ValidationError::new("items", format!("at most {MAX_ITEMS} items")));
        }
        let items = items
            .iter()
            .enumerate()
            .map(|(i, v)| PurchaseItem::parse(v, &format!("items[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let purchased_at: Timestamp = purchased_at
            .trim()
            .parse()
            .map_err(|_| ValidationError::new("purchased_at", "must be an RFC 3339 time like 2026-06-01T08:00:00Z"))?;
        if purchased_at > now.checked_add(MAX_CLOCK_AHEAD).unwrap_or(Timestamp::MAX) {
            return Err(ValidationError::new("purchased_at", "must not be in the future"));
        }
        Ok(Self { order_id, amount, items, purchased_at })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn cny() -> Currency {
        Currency::parse("cny", "currency").unwrap()
    }

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn money_is_exact() {
        let m = |v: Value, c: &str| Money::parse(&v, Currency::parse(c, "currency").unwrap(), "amount");
        assert_eq!(m(json!(19.99), "CNY").unwrap().minor, 1999);
        assert_eq!(m(json!("199.50"), "CNY").unwrap().minor, 19950);
        assert_eq!(m(json!(199), "CNY").unwrap().minor, 19900);
        assert_eq!(m(json!(1000.0), "CNY").unwrap().minor, 100_000);
        assert_eq!(m(json!("1.500"), "CNY").unwrap().minor, 150, "trailing zeros are not decimals");
        assert_eq!(m(json!(1500), "JPY").unwrap().to_decimal(), "1500");
        assert_eq!(m(json!("1.234"), "KWD").unwrap().to_decimal(), "1.234");
        assert_eq!(m(json!("0.05"), "USD").unwrap().to_decimal(), "0.05");
        assert_eq!(m(json!(0), "CNY").unwrap().minor, 0);
        for bad in
            [json!(-1), json!("1.999"), json!("1."), json!(".5"), json!("1e3"), json!("abc"), json!(true), json!(1.5)]
        {
            let c = if bad == json!(1.5) { "JPY" } else { "CNY" };
            assert_eq!(m(bad.clone(), c).unwrap_err().field, "amount", "{bad}");
        }
        assert!(m(json!("100000000000.01"), "CNY").is_err(), "over the cap");
        assert!(m(json!("999999999999999999999"), "CNY").is_err());
        assert_eq!(Currency::parse("yuan", "currency").unwrap_err().field, "currency");
        assert_eq!(cny().exponent(), 2);
    }

    #[test]
    fn purchases_name_each_bad_field() {
        let ok = Purchase::parse(
            " A-1001 ",
            &json!("299.00"),
            "CNY",
            &[json!("耳机"), json!({"name": "数据线", "quantity": 2})],
            "2026-05-31T08:00:00Z",
            now(),
        )
        .unwrap();
        assert_eq!(ok.order_id.as_str(), "A-1001");
        assert_eq!(ok.items[1], PurchaseItem { name: "数据线".into(), quantity: 2 });
        assert_eq!(ok.items[0].quantity, 1);
        let field = |r: Result<Purchase, ValidationError>| r.unwrap_err().field;
        let t = "2026-05-31T08:00:00Z";
        assert_eq!(field(Purchase::parse("a b", &json!(1), "CNY", &[], t, now())), "order_id");
        assert_eq!(field(Purchase::parse("a", &json!(1), "元", &[], t, now())), "currency");
        assert_eq!(field(Purchase::parse("a", &json!(1), "CNY", &[json!({"quantity": 1})], t, now())), "items[0].name");
        assert_eq!(
            field(Purchase::parse("a", &json!(1), "CNY", &[json!("x"), json!({"name": "y", "quantity": 0})], t, now())),
            "items[1].quantity"
        );
        assert_eq!(field(Purchase::parse("a", &json!(1), "CNY", &[json!(3)], t, now())), "items[0]");
        assert_eq!(field(Purchase::parse("a", &json!(1), "CNY", &vec![json!("x"); 101], t, now())), "items");
        assert_eq!(field(Purchase::parse("a", &json!(1), "CNY", &[], "yesterday", now())), "purchased_at");
        assert_eq!(field(Purchase::parse("a", &json!(1), "CNY", &[], "2026-06-03T00:00:00Z", now())), "purchased_at");
        assert!(Purchase::parse("a", &json!(1), "CNY", &[], "2026-06-01T12:00:00Z", now()).is_ok(), "a fast clock");
    }

    proptest! {
        #[test]
        fn decimal_text_round_trips(minor in 0i64..=MAX_MINOR_UNITS, c in prop::sample::select(vec!["CNY", "JPY", "KWD"])) {
            let cur = Currency::parse(c, "currency").unwrap();
            let m = Money { minor, currency: cur.clone() };
            let back = Money::parse(&Value::String(m.to_decimal()), cur, "amount").unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn any_amount_text_is_refused_or_non_negative(s in "\\PC{0,20}") {
            if let Ok(m) = Money::parse(&Value::String(s), cny(), "amount") {
                prop_assert!((0..=MAX_MINOR_UNITS).contains(&m.minor));
            }
        }
    }
}
