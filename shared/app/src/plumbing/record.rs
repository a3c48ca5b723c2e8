//! Typed records: the one way a stored item becomes a struct and back.
//!
//! Each stored item has a `#[derive(Serialize, Deserialize)]` struct in the capability that owns it
//! (`conversations::record::ConversationRecord`, …) that implements [`Record`]: its `type` attribute, its key and
//! its index attributes. [`Record::to_item`] writes the struct's fields (serde, so statuses are the domain's
//! enums) plus those attributes; [`Record::from_item`] reads an item back, and an item that does not parse is an
//! error ([`RecordError`]), never a default. `docs/data-model.md` names the struct of each item.

use kefu_ports::table::{Item, Key, PK, SK, Stored, TableError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A stored item that does not have the shape its record expects: the store holds something the code did not
/// write (or an older shape no reader accepts any more). A server fault, never the client's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("stored {what} item {pk} / {sk} does not parse: {reason}")]
pub struct RecordError {
    /// The record's name (its `type`, or the struct's purpose).
    pub what: &'static str,
    /// The item's partition key, if it had one.
    pub pk: String,
    /// The item's sort key, if it had one.
    pub sk: String,
    /// What serde found wrong.
    pub reason: String,
}

/// A corrupt item is reported like any other invalid store answer: the request fails (500) and nothing is
/// written on its behalf.
impl From<RecordError> for TableError {
    fn from(e: RecordError) -> Self {
        TableError::Invalid(e.to_string())
    }
}

/// A struct that is one stored item: its fields are the item's attributes (besides the key, the index
/// attributes and `type`, which [`Record::to_item`] adds).
pub trait Record: Serialize + DeserializeOwned {
    /// The item's `type` attribute, for items that carry one; also the name errors give the record.
    const TYPE: &'static str;

    /// Whether the item carries `type = TYPE` (most do; some lookup items never did).
    const TYPED: bool = true;

    /// The item's key.
    fn key(&self) -> Key;

    /// The index attributes (`gsi1pk`, `gsi1sk`, `gsi2pk`, `gsi2sk`) the item carries when written whole.
    fn index(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The item to store: the key, `type`, the index attributes and every field.
    fn to_item(&self) -> Item {
        let mut item = item_of(self.key(), self);
        if Self::TYPED {
            item.insert("type".into(), Value::String(Self::TYPE.into()));
        }
        for (name, value) in self.index() {
            item.insert(name.into(), Value::String(value));
        }
        item
    }

    /// The record of a stored item; an item that does not parse is an error.
    fn from_item(item: Item) -> Result<Self, RecordError> {
        parse(Self::TYPE, item)
    }

    /// [`Record::from_item`] of a borrowed item (without copying it).
    fn from_ref(item: &Item) -> Result<Self, RecordError> {
        parse_ref(Self::TYPE, item)
    }

    /// [`Record::from_item`] of an item as the table read it ([`Table::get_stored`](kefu_ports::Table::get_stored)).
    fn from_stored(stored: Stored) -> Result<Self, RecordError> {
        parse_stored(Self::TYPE, stored)
    }
}

/// The item of a key and a struct's fields (what [`Record::to_item`] builds on), for the items whose key is not
/// made of their own attributes (an idempotency record's consumer and event id are only in its key).
pub fn item_of<T: Serialize + ?Sized>(key: Key, fields: &T) -> Item {
    let mut item = match serde_json::to_value(fields) {
        Ok(Value::Object(map)) => map,
        // A record is a struct with named fields: serde gives an object, or fails only on a non-string map key
        // or a failing custom serializer, which no record has.
        other => unreachable!("a record did not serialize to an object: {other:?}"),
    };
    item.insert(PK.into(), Value::String(key.pk));
    item.insert(SK.into(), Value::String(key.sk));
    item
}

/// [`parse`] of an item as the table read it. JSON text is read straight into `T`, without building the
/// attribute map; only text that does not read is parsed into an item, to name the attribute at fault as
/// [`parse_ref`] does (the answer is the same either way).
pub fn parse_stored<T: DeserializeOwned>(what: &'static str, stored: Stored) -> Result<T, RecordError> {
    let text = match stored {
        Stored::Item(item) => return parse(what, item),
        Stored::Json(text) => text,
    };
    if let Ok(parsed) = serde_json::from_slice(&text) {
        return Ok(parsed);
    }
    match Stored::Json(text).into_item() {
        Ok(item) => parse(what, item),
        Err(e) => Err(RecordError { what, pk: String::new(), sk: String::new(), reason: e.to_string() }),
    }
}

/// Reads a stored item into `T` (a record, or a typed view of some of its attributes), naming it `what` in
/// the error. Attributes `T` does not declare are ignored, so other capabilities may add their own.
pub fn parse<T: DeserializeOwned>(what: &'static str, item: Item) -> Result<T, RecordError> {
    parse_ref(what, &item)
}

/// [`parse`] of a borrowed item. An item that parses is read once, with nothing tracked; only one that does
/// not is read again to name the attribute at fault (`serde_path_to_error` copies every attribute's name as
/// it goes, which a read that succeeds should not pay).
pub fn parse_ref<T: DeserializeOwned>(what: &'static str, item: &Item) -> Result<T, RecordError> {
    T::deserialize(item).map_err(|_| {
        let part = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let reason = match serde_path_to_error::deserialize::<_, T>(item) {
            Err(e) => format!("{}: {}", e.path(), e.inner()),
            Ok(_) => "it parses only on a second reading".to_owned(),
        };
        RecordError { what, pk: part(PK), sk: part(SK), reason }
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        id: String,
        n: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    impl Record for Thing {
        const TYPE: &'static str = "thing";
        fn key(&self) -> Key {
            Key::new(format!("THING#{}", self.id), "THING")
        }
        fn index(&self) -> Vec<(&'static str, String)> {
            vec![("gsi1pk", "THINGS".into()), ("gsi1sk", self.id.clone())]
        }
    }

    #[test]
    fn a_record_round_trips_with_its_key_type_and_index() {
        let t = Thing { id: "a".into(), n: 3, note: None };
        let item = t.to_item();
        assert_eq!(
            Value::Object(item.clone()),
            json!({"pk": "THING#a", "sk": "THING", "type": "thing", "gsi1pk": "THINGS", "gsi1sk": "a", "id": "a", "n": 3})
        );
        assert_eq!(Thing::from_item(item).unwrap(), t);
    }

    #[test]
    fn an_item_that_does_not_parse_is_an_error_naming_the_item_and_the_field() {
        let item = json!({"pk": "THING#a", "sk": "THING", "id": "a", "n": "three"}).as_object().unwrap().clone();
        let e = Thing::from_item(item).unwrap_err();
        assert_eq!((e.what, e.pk.as_str(), e.sk.as_str()), ("thing", "THING#a", "THING"));
        assert!(e.reason.starts_with("n:"), "{}", e.reason);
        assert!(matches!(TableError::from(e), TableError::Invalid(_)));
    }

    /// JSON text as the embedded table reads it gives the same record, or the same error, as its item.
    #[test]
    fn a_record_reads_from_stored_text_as_from_its_item() {
        let text = |v: &Value| Stored::Json(serde_json::to_vec(v).unwrap());
        let right = json!({"pk": "THING#a", "sk": "THING", "type": "thing", "id": "a", "n": 3, "extra": {"x": [1]}});
        let wrong = json!({"pk": "THING#a", "sk": "THING", "id": "a", "n": "three"});
        let missing = json!({"pk": "THING#b", "sk": "THING", "n": 1, "note": null});
        for v in [&right, &wrong, &missing] {
            let item = v.as_object().unwrap().clone();
            assert_eq!(Thing::from_stored(text(v)), Thing::from_item(item.clone()), "{v}");
            assert_eq!(Thing::from_stored(Stored::Item(item.clone())), Thing::from_item(item), "{v}");
        }
        assert_eq!(Thing::from_stored(text(&right)).unwrap(), Thing { id: "a".into(), n: 3, note: None });
        let e = Thing::from_stored(Stored::Json(b"{\"id\": ".to_vec())).unwrap_err();
        assert_eq!(e.what, "thing", "text that is not JSON is an error, not a panic: {e}");
    }
}
