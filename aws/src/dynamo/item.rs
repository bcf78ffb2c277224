//! Items as DynamoDB holds them: attribute constructors and readers, JSON in string attributes,
//! and the mapping of SDK, encoding and decoding failures to [`StoreError`].

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use pec_ledger::store::{StoreError, StoreResult};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub(super) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(super) fn sdk<E: std::error::Error + 'static, R: std::fmt::Debug>(
    op: &str,
) -> impl FnOnce(SdkError<E, R>) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("DynamoDB {op}: {}", DisplayErrorContext(&e)))
}

pub(super) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: u32) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(format!("item without string attribute {name}"))),
    }
}

pub(super) fn get_n(item: &Item, name: &str) -> StoreResult<u32> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(corrupt),
        _ => Err(corrupt(format!("item without number attribute {name}"))),
    }
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(corrupt)
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(backend)
}

pub(super) fn item(pairs: Vec<(&str, AttributeValue)>) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
