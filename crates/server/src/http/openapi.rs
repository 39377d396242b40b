//! Completes the generated OpenAPI document with what every operation
//! shares, so a generated client can trust it: the server, and the error
//! answers each operation can give (401 and 403 where a token is needed,
//! 404 where the path or body can name something, 400 where input is read, 429 and 503
//! anywhere), each with the `ErrorBody` schema and a description.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};

/// Fills in what the per-route annotations leave out.
pub fn complete(doc: &mut OpenApi) {
    doc.servers = Some(vec![Server::new("/")]);
    unique_operation_ids(doc);
    for operation in operations(doc) {
        complete_operation(operation);
    }
}

/// Operation ids default to handler names, which repeat across modules
/// (`list`, `create_order`); generators need them unique. A repeated one
/// gets its tag in front (`merchants_list`, `merchant_api_create_order`).
fn unique_operation_ids(doc: &mut OpenApi) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for operation in operations(doc) {
        if let Some(id) = &operation.operation_id {
            *seen.entry(id.clone()).or_default() += 1;
        }
    }
    for operation in operations(doc) {
        let Some(id) = operation.operation_id.clone() else {
            continue;
        };
        if seen.get(&id).copied().unwrap_or(0) > 1 {
            let tag = operation
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .map(|t| t.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
                .unwrap_or_default();
            operation.operation_id = Some(format!("{tag}_{id}"));
        }
    }
}

/// Every operation of the document.
fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

fn complete_operation(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let reads_input = operation.request_body.is_some() || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    // An id in the path or the body (`card_id`, `quote_id`) may name nothing.
    let names_a_thing = operation.request_body.is_some()
        || operation
            .parameters
            .as_ref()
            .is_some_and(|p| p.iter().any(|p| p.parameter_in == ParameterIn::Path));
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                response.description = describe(status).to_owned();
            }
        }
    }
    if secured {
        responses
            .entry("401".to_owned())
            .or_insert_with(|| error("No token, or one that is unknown, expired or revoked (`unauthorized`)."));
    }
    if secured {
        responses.entry("403".to_owned()).or_insert_with(|| {
            error("The caller may not do this, or not yet (`forbidden`, `not_member`, `pin_not_set`, …).")
        });
    }
    if names_a_thing {
        responses
            .entry("404".to_owned())
            .or_insert_with(|| error("Nothing by that id, or not the caller's to see (`not_found`, `*_not_found`)."));
    }
    if reads_input {
        responses
            .entry("400".to_owned())
            .or_insert_with(|| error("The input is not valid; `code` says how (`invalid_request`, `invalid_*`)."));
    }
    responses
        .entry("429".to_owned())
        .or_insert_with(|| error("Too many requests from this account or address (`rate_limited`)."));
    responses.entry("503".to_owned()).or_insert_with(|| {
        error("The database is out of reach (`unavailable`); retry, with the same idempotency key where there is one.")
    });
}

/// An error answer with the `ErrorBody` schema.
fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// The description of a status an annotation gave none.
fn describe(status: &str) -> &'static str {
    match status {
        "200" => "OK.",
        "201" => "Created.",
        "202" => "Accepted: carried on in the background.",
        "204" => "Done; nothing to return.",
        "101" => "Switching to the WebSocket protocol.",
        "400" => "The input is not valid; `code` says how.",
        "401" => "No valid token or key.",
        "403" => "The caller may not do this (`forbidden`, `not_member`, …).",
        "404" => "Not found, or not the caller's to see.",
        "409" => "Conflicts with the current state; `code` says how.",
        "410" => "Gone: expired.",
        "413" => "Too large.",
        "415" => "Unsupported media type.",
        "422" => "Understood but refused by a rule; `code` says which.",
        "429" => "Too many requests.",
        "503" => "Temporarily unavailable; retry.",
        _ => "See `code` in the body.",
    }
}
