//! Conversions between vendor epoch milliseconds, protobuf timestamps and
//! raw JSON records.

use prost_types::{ListValue, Struct, Timestamp, Value, value::Kind};

/// Epoch milliseconds → Timestamp; None for absent or non-positive values.
pub(crate) fn ts(ms: Option<i64>) -> Option<Timestamp> {
    let ms = ms.filter(|m| *m > 0)?;
    Some(Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 })
}

/// Timestamp → epoch milliseconds.
pub(crate) fn ms(t: &Timestamp) -> i64 {
    t.seconds.saturating_mul(1000).saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// A JSON object → `google.protobuf.Struct` (non-objects are wrapped as `{"value": ...}`).
pub(crate) fn json_to_struct(v: &serde_json::Value) -> Struct {
    match v {
        serde_json::Value::Object(m) => {
            Struct { fields: m.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect() }
        }
        other => Struct { fields: [("value".to_owned(), json_to_value(other))].into_iter().collect() },
    }
}

fn json_to_value(v: &serde_json::Value) -> Value {
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(a) => Kind::ListValue(ListValue { values: a.iter().map(json_to_value).collect() }),
        serde_json::Value::Object(_) => Kind::StructValue(json_to_struct(v)),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        let t = ts(Some(1_593_877_765_123)).unwrap();
        assert_eq!((t.seconds, t.nanos), (1_593_877_765, 123_000_000));
        assert_eq!(ms(&t), 1_593_877_765_123);
        assert!(ts(Some(0)).is_none());
    }
}
