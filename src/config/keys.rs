//! The keys of each config section, as serde knows them.

use super::*;
use serde::Deserialize;

/// The keys of a config section as serde's derive knows them (its `FIELDS`), read by asking
/// the section to deserialize from a deserializer that only records what it is asked for. The
/// Python package builds its keyword lists from these, so a key added here reaches it.
pub fn section_keys(section: &str) -> Option<Vec<&'static str>> {
    fn fields_of<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
        let mut fields = Vec::new();
        let _ = T::deserialize(FieldNames(&mut fields));
        fields
    }
    Some(match section {
        "model" => fields_of::<ModelSection>(),
        "train" => fields_of::<TrainSection>(),
        "data" => fields_of::<DataSection>(),
        "pretrain" => fields_of::<PretrainConfig>(),
        "corruption" => fields_of::<CorruptionConfig>(),
        "psd" => fields_of::<PsdConfig>(),
        "report" => fields_of::<ReportSection>(),
        _ => return None,
    })
}

/// A deserializer that records a struct's field names and deserializes nothing.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}
impl std::error::Error for Recorded {}
impl serde::de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = Recorded;
    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        _: V,
    ) -> std::result::Result<V::Value, Recorded> {
        Err(Recorded)
    }
    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Recorded> {
        self.0.extend_from_slice(fields);
        Err(Recorded)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
