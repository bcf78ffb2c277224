//! Creates the tables, bucket and queue with the exact key schema of the SAM template, for
//! tests against a local emulator and for trying the functions outside CloudFormation.

use crate::env::{AwsEnv, Clients};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

fn attr(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

fn key(name: &str, t: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .map_err(|e| e.to_string())
}

/// A keys-only index (the one index of format 2: `PriorPeriod`, sparse).
fn gsi(name: &str, pk: &str, sk: &str) -> Result<GlobalSecondaryIndex, String> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash)?)
        .key_schema(key(sk, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())
}

async fn create_table(
    c: &aws_sdk_dynamodb::Client,
    name: &str,
    indexes: &[(&str, &str, &str)],
) -> Result<(), String> {
    let mut req = c
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?);
    for (index, pk, sk) in indexes {
        req = req
            .attribute_definitions(attr(pk)?)
            .attribute_definitions(attr(sk)?)
            .global_secondary_indexes(gsi(index, pk, sk)?);
    }
    req.send().await.map_err(|e| {
        format!(
            "CreateTable {name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
        )
    })?;
    Ok(())
}

/// Creates both tables and the bucket (and the queue when `queue_name` is given, returning
/// its URL).
pub async fn create_all(
    env: &AwsEnv,
    clients: &Clients,
    queue_name: Option<&str>,
) -> Result<Option<String>, String> {
    create_table(
        &clients.dynamodb,
        &env.ledger_table,
        &[("PriorPeriod", "ppk", "psk")],
    )
    .await?;
    create_table(&clients.dynamodb, &env.state_table, &[]).await?;
    clients
        .s3
        .create_bucket()
        .bucket(&env.bucket)
        .send()
        .await
        .map_err(|e| {
            format!(
                "CreateBucket: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    match queue_name {
        Some(q) => {
            let out = clients
                .sqs
                .create_queue()
                .queue_name(q)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "CreateQueue: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    )
                })?;
            Ok(out.queue_url)
        }
        None => Ok(None),
    }
}
