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

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(backend)
}

pub(super) fn item(pairs: Vec<(&str, AttributeValue)>) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub(super) fn n64(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn b(v: impl Into<Vec<u8>>) -> AttributeValue {
    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(v.into()))
}

pub(super) fn get_n64(item: &Item, name: &str) -> StoreResult<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(corrupt),
        _ => Err(corrupt(format!("item without number attribute {name}"))),
    }
}

pub(super) fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(super) fn opt_b<'a>(item: &'a Item, name: &str) -> Option<&'a [u8]> {
    match item.get(name) {
        Some(AttributeValue::B(v)) => Some(v.as_ref()),
        _ => None,
    }
}

/// A digest as items keep it: SHA-256 hex (what pec writes) as its 32 bytes under `name`,
/// anything else as text under `{name}s`, so every entry reads back exactly as it was appended.
pub(super) fn put_digest(item: &mut Item, name: &str, text: &str) {
    let hex64 = text.len() == 64 && text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    match hex::decode(text) {
        Ok(bytes) if hex64 => {
            item.insert(name.to_string(), b(bytes));
        }
        _ => {
            item.insert(format!("{name}s"), s(text));
        }
    }
}

/// A digest written by [`put_digest`]; empty when neither attribute is there.
pub(super) fn get_digest(item: &Item, name: &str) -> String {
    match opt_b(item, name) {
        Some(bytes) => hex::encode(bytes),
        None => opt_s(item, &format!("{name}s"))
            .unwrap_or_default()
            .to_string(),
    }
}

/// A conditional write's outcome where a failed condition means "already so": `Ok`.
pub(super) fn unless_condition_failed<E, R>(
    op: &str,
    r: Result<R, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> StoreResult<()>
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
{
    match r {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(())
        }
        Err(e) => Err(sdk(op)(e)),
    }
}
