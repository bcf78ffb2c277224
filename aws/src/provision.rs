//! Creates the tables, bucket and queue with the exact key schema of the SAM template, for
//! tests against a local emulator and for trying the functions outside CloudFormation.

use crate::env::{AwsEnv, Clients};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
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

/// An index: keys only in format 2 (`PriorPeriod`, sparse); format 1's projected every
/// attribute.
fn gsi_projecting(
    name: &str,
    pk: &str,
    sk: &str,
    projection: ProjectionType,
) -> Result<GlobalSecondaryIndex, String> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash)?)
        .key_schema(key(sk, KeyType::Range)?)
        .projection(Projection::builder().projection_type(projection).build())
        .build()
        .map_err(|e| e.to_string())
}

async fn create_table(
    c: &aws_sdk_dynamodb::Client,
    name: &str,
    indexes: &[(&str, &str, &str)],
) -> Result<(), String> {
    create_table_projecting(c, name, indexes, ProjectionType::KeysOnly).await
}

async fn create_table_projecting(
    c: &aws_sdk_dynamodb::Client,
    name: &str,
    indexes: &[(&str, &str, &str)],
    projection: ProjectionType,
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
            .global_secondary_indexes(gsi_projecting(index, pk, sk, projection.clone())?);
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
    create_bucket(env, clients).await?;
    match queue_name {
        Some(q) => {
            let out = clients
                .sqs()
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

/// Both tables as releases before 2026-12 made them (table format 1: month indexes and a staging
/// index, all projecting every attribute), and the bucket — for the upgrade tests.
pub async fn create_format1(env: &AwsEnv, clients: &Clients) -> Result<(), String> {
    create_table_projecting(
        &clients.dynamodb,
        &env.ledger_table,
        &[
            ("ByUsageMonth", "gsi1pk", "gsi1sk"),
            ("ByPostingMonth", "gsi2pk", "gsi2sk"),
        ],
        ProjectionType::All,
    )
    .await?;
    create_table_projecting(
        &clients.dynamodb,
        &env.state_table,
        &[("ByIndex", "gsi1pk", "gsi1sk")],
        ProjectionType::All,
    )
    .await?;
    create_bucket(env, clients).await?;
    Ok(())
}

/// Adds format 2's `PriorPeriod` index to a format 1 ledger table (what the first deployment of
/// an upgrade does: `TableUpgradeStep=1`).
pub async fn add_prior_period_index(env: &AwsEnv, clients: &Clients) -> Result<(), String> {
    let index = gsi_projecting("PriorPeriod", "ppk", "psk", ProjectionType::KeysOnly)?;
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name("PriorPeriod")
        .set_key_schema(Some(index.key_schema().to_vec()))
        .set_projection(index.projection().cloned())
        .build()
        .map_err(|e| e.to_string())?;
    clients
        .dynamodb
        .update_table()
        .table_name(&env.ledger_table)
        .attribute_definitions(attr("ppk")?)
        .attribute_definitions(attr("psk")?)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "UpdateTable {}: {}",
                env.ledger_table,
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

async fn create_bucket(env: &AwsEnv, clients: &Clients) -> Result<(), String> {
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
    Ok(())
}
