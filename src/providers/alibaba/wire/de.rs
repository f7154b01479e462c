//! Field readers for DataWorks answers: numbers the vendor sends as numbers
//! or as numeric strings, text borrowed from the body where it needs no
//! unescaping, and JSON text the vendor sometimes sends as an object.
//! A present value of the wrong kind is an error, never a silent default.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{self, Unexpected, Visitor},
};
use serde_json::value::RawValue;

/// Reads an integer: a JSON number (integral floats too) or a numeric
/// string; `null` and "" are absent.
struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e18 {
            Ok(Some(v as i64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.trim() {
            "" => Ok(None),
            t => t.parse().map(Some).map_err(|_| E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads text: a string (borrowed when it has no escapes), or a number or
/// boolean rendered; `null` is absent.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A required integer (number or numeric string).
pub(super) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntVisitor)?.ok_or_else(|| de::Error::invalid_type(Unexpected::Unit, &IntVisitor))
}

/// An optional integer (number or numeric string; `null` or "" absent).
pub(super) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(IntVisitor)
}

/// Required text (a number is rendered).
pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    d.deserialize_any(TextVisitor)?.ok_or_else(|| de::Error::invalid_type(Unexpected::Unit, &TextVisitor))
}

/// Optional text (a number is rendered; `null` absent).
pub(super) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(TextVisitor)
}

/// An optional value of a closed vocabulary (a unit-variant enum): text
/// the enum does not know is absent, not an error (vendors add values).
pub(super) fn opt_known<'de, D: Deserializer<'de>, T: de::DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(opt_text(d)?.and_then(|t| T::deserialize(de::value::StrDeserializer::<de::value::Error>::new(&t)).ok()))
}

/// An optional boolean: `true`/`false`, or those words as a string.
pub(super) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match opt_text(d)? {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("true") => Some(true),
        Some(t) if t.eq_ignore_ascii_case("false") => Some(false),
        Some(t) => return Err(de::Error::invalid_value(Unexpected::Str(&t), &"a boolean")),
    })
}

/// Optional JSON text that the SDK types as a string but the vendor's
/// samples show as an object: a string as is, an object or list as its
/// JSON text, `null` absent.
pub(super) fn opt_json_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    let raw = <&'de RawValue>::deserialize(d)?.get();
    match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(raw).map(|s| Some(Cow::Owned(s))).map_err(de::Error::custom),
        Some(b'{' | b'[') => Ok(Some(Cow::Borrowed(raw))),
        _ if raw == "null" => Ok(None),
        _ => Err(de::Error::invalid_value(Unexpected::Other(raw), &"JSON text")),
    }
}
