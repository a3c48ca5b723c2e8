//! Builds DynamoDB expressions (condition, update, key condition) from the ports' typed values.
//!
//! Every attribute name goes through a `#n` placeholder and every value through a `:v` placeholder, so no
//! attribute name can collide with a reserved word and no value is ever spliced into expression text.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use kefu_ports::table::{CmpOp, Condition, PK, SkCondition, TTL, TableError, Update, UpdateAction};
use serde_json::Value;

/// The placeholders one request uses, plus the text built so far by the caller.
#[derive(Debug, Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    by_attr: HashMap<String, String>,
    now: Option<String>,
    now_secs: i64,
}

/// Converts a JSON value to a DynamoDB attribute value.
pub(crate) fn attribute(v: &Value) -> Result<AttributeValue, TableError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| TableError::Invalid(format!("value not storable: {e}")))
}

impl Expr {
    /// A builder whose TTL-aware conditions compare against `now` (epoch seconds).
    pub(crate) fn new(now_secs: i64) -> Self {
        Self { now_secs, ..Self::default() }
    }

    /// The placeholder for an attribute name (one per distinct name).
    pub(crate) fn name(&mut self, attr: &str) -> String {
        if let Some(p) = self.by_attr.get(attr) {
            return p.clone();
        }
        let p = format!("#n{}", self.by_attr.len());
        self.by_attr.insert(attr.to_owned(), p.clone());
        self.names.insert(p.clone(), attr.to_owned());
        p
    }

    /// The placeholder for a value (one per use).
    pub(crate) fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    /// The placeholder for a JSON value.
    pub(crate) fn json(&mut self, v: &Value) -> Result<String, TableError> {
        Ok(self.value(attribute(v)?))
    }

    fn now(&mut self) -> String {
        if let Some(p) = &self.now {
            return p.clone();
        }
        let p = self.value(AttributeValue::N(self.now_secs.to_string()));
        self.now = Some(p.clone());
        p
    }

    /// A condition expression. `Exists`/`NotExists` treat an item whose `ttl` has passed as absent.
    pub(crate) fn condition(&mut self, c: &Condition) -> Result<String, TableError> {
        Ok(match c {
            Condition::Exists => {
                let (pk, ttl, now) = (self.name(PK), self.name(TTL), self.now());
                format!("(attribute_exists({pk}) AND (attribute_not_exists({ttl}) OR {ttl} > {now}))")
            }
            Condition::NotExists => {
                let (pk, ttl, now) = (self.name(PK), self.name(TTL), self.now());
                format!("(attribute_not_exists({pk}) OR {ttl} <= {now})")
            }
            Condition::AttrExists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::AttrNotExists(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::Cmp { attr, op, value } => {
                let (n, v) = (self.name(attr), self.json(value)?);
                match op {
                    // An absent attribute is "not equal" to anything, as in the port's evaluation.
                    CmpOp::Ne => format!("(attribute_not_exists({n}) OR {n} <> {v})"),
                    CmpOp::Eq => format!("{n} = {v}"),
                    CmpOp::Lt => format!("{n} < {v}"),
                    CmpOp::Le => format!("{n} <= {v}"),
                    CmpOp::Gt => format!("{n} > {v}"),
                    CmpOp::Ge => format!("{n} >= {v}"),
                }
            }
            Condition::And(all) if all.is_empty() => self.always(true),
            Condition::Or(any) if any.is_empty() => self.always(false),
            Condition::And(all) => self.join(all, " AND ")?,
            Condition::Or(any) => self.join(any, " OR ")?,
        })
    }

    fn join(&mut self, parts: &[Condition], op: &str) -> Result<String, TableError> {
        let parts = parts.iter().map(|c| self.condition(c)).collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(op)))
    }

    /// DynamoDB has no literals for true and false: a tautology or contradiction on the key stands in.
    fn always(&mut self, truth: bool) -> String {
        let pk = self.name(PK);
        if truth {
            format!("(attribute_exists({pk}) OR attribute_not_exists({pk}))")
        } else {
            format!("(attribute_exists({pk}) AND attribute_not_exists({pk}))")
        }
    }

    /// An update expression (`SET ... REMOVE ...`); call after `Update::validate`.
    pub(crate) fn update(&mut self, u: &Update) -> Result<String, TableError> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        for a in &u.actions {
            match a {
                UpdateAction::Set(n, v) => {
                    let (n, v) = (self.name(n), self.json(v)?);
                    set.push(format!("{n} = {v}"));
                }
                UpdateAction::SetIfAbsent(n, v) => {
                    let (n, v) = (self.name(n), self.json(v)?);
                    set.push(format!("{n} = if_not_exists({n}, {v})"));
                }
                UpdateAction::Add(n, by) => {
                    let n = self.name(n);
                    let zero = self.value(AttributeValue::N("0".into()));
                    let by = self.value(AttributeValue::N(by.to_string()));
                    set.push(format!("{n} = if_not_exists({n}, {zero}) + {by}"));
                }
                UpdateAction::Remove(n) => remove.push(self.name(n)),
            }
        }
        let mut out = String::new();
        if !set.is_empty() {
            out.push_str("SET ");
            out.push_str(&set.join(", "));
        }
        if !remove.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("REMOVE ");
            out.push_str(&remove.join(", "));
        }
        Ok(out)
    }

    /// A key condition: `pk_attr = pk` narrowed by the sort-key condition on `sk_attr`.
    pub(crate) fn key_condition(&mut self, pk_attr: &str, pk: &str, sk_attr: &str, sk: Option<&SkCondition>) -> String {
        let p = self.name(pk_attr);
        let pv = self.value(AttributeValue::S(pk.to_owned()));
        let mut out = format!("{p} = {pv}");
        if let Some(c) = sk {
            let s = self.name(sk_attr);
            let mut v = |x: &String| self.value(AttributeValue::S(x.clone()));
            let cond = match c {
                SkCondition::Eq(x) => format!("{s} = {}", v(x)),
                SkCondition::BeginsWith(x) => format!("begins_with({s}, {})", v(x)),
                SkCondition::Between(a, b) => {
                    let a = v(a);
                    format!("{s} BETWEEN {a} AND {}", v(b))
                }
                SkCondition::Lt(x) => format!("{s} < {}", v(x)),
                SkCondition::Le(x) => format!("{s} <= {}", v(x)),
                SkCondition::Gt(x) => format!("{s} > {}", v(x)),
                SkCondition::Ge(x) => format!("{s} >= {}", v(x)),
            };
            out.push_str(" AND ");
            out.push_str(&cond);
        }
        out
    }

    /// The name placeholders, or `None` when no expression used any.
    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The value placeholders, or `None` when no expression used any.
    pub(crate) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ttl_aware_conditions_and_updates() {
        let mut e = Expr::new(100);
        let c = e.condition(&Condition::And(vec![Condition::Exists, Condition::cmp("v", CmpOp::Ne, 2)])).unwrap();
        assert_eq!(
            c,
            "((attribute_exists(#n0) AND (attribute_not_exists(#n1) OR #n1 > :v0)) AND (attribute_not_exists(#n2) OR #n2 <> :v1))"
        );
        let u = e.update(&Update::new().add("n", 1).remove("x").set_if_absent("y", 1)).unwrap();
        assert_eq!(u, "SET #n3 = if_not_exists(#n3, :v2) + :v3, #n5 = if_not_exists(#n5, :v4) REMOVE #n4");
        assert_eq!(e.names().unwrap().len(), 6);
    }
}
