//! A storefront page as ordered blocks: what the page builder edits and the storefront
//! renderer follows. A storefront that never saved any has the default blocks (the page
//! as it always was: header, social icons, links, drops, raffles, products).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids::{DropId, ProductId, RaffleId};
use super::validate::{self, Check};
use crate::error::AppError;

/// The most blocks one page holds.
pub const MAX_BLOCKS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlockType {
    /// Avatar, title and bio.
    Header,
    /// The storefront's social profiles as icons.
    Socials,
    /// The storefront's links.
    Links,
    /// Every published product as a grid.
    Products,
    /// One product (`settings.product_id`).
    Product,
    /// The storefront's drops, or one (`settings.drop_id`).
    Drop,
    /// The storefront's raffles, or one (`settings.raffle_id`).
    Raffle,
    /// `settings.title` (optional) and `settings.body`.
    Text,
    /// `settings.email` (and optional `settings.title`).
    Contact,
}

impl BlockType {
    /// The settings this type accepts.
    fn settings(&self) -> &'static [&'static str] {
        match self {
            BlockType::Header | BlockType::Socials | BlockType::Links | BlockType::Products => &[],
            BlockType::Product => &["product_id"],
            BlockType::Drop => &["drop_id"],
            BlockType::Raffle => &["raffle_id"],
            BlockType::Text => &["title", "body"],
            BlockType::Contact => &["title", "email"],
        }
    }
}

/// One block as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Block {
    /// Chosen by the client (1 to 64 of `A-Z a-z 0-9 - _`), unique on the page; given one
    /// when left out.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: BlockType,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

/// A block as a client sends it (`id` optional).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    pub id: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: String,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

fn block(id: &str, kind: BlockType) -> Block {
    Block {
        id: id.into(),
        kind,
        hidden: false,
        settings: Map::new(),
    }
}

/// The page of a storefront that never saved blocks.
pub fn defaults() -> Vec<Block> {
    vec![
        block("header", BlockType::Header),
        block("socials", BlockType::Socials),
        block("links", BlockType::Links),
        block("drops", BlockType::Drop),
        block("raffles", BlockType::Raffle),
        block("products", BlockType::Products),
    ]
}

/// Stored blocks, or the defaults for a storefront without any (or a row no release
/// wrote).
pub fn parse(stored: Option<&str>) -> Vec<Block> {
    stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(defaults)
}

/// What blocks may point at: the storefront's own products, drops and raffles.
#[derive(Debug, Default)]
pub struct Known {
    pub products: Vec<ProductId>,
    pub drops: Vec<DropId>,
    pub raffles: Vec<RaffleId>,
}

fn type_of(s: &str) -> Option<BlockType> {
    serde_json::from_value(Value::String(s.to_string())).ok()
}

/// Check a page sent by a client: known types, their own settings only and valid, ids
/// unique (missing ones made), references to the storefront's own things. Every fault
/// is named by its field (`blocks[2].settings.product_id`).
pub fn validate(input: Vec<BlockInput>, known: &Known) -> Result<Vec<Block>, AppError> {
    let mut check = Check::new();
    if input.len() > MAX_BLOCKS {
        check.fail("blocks", format!("at most {MAX_BLOCKS} blocks"));
        return check.finish().map(|_| Vec::new());
    }
    let mut seen = std::collections::HashSet::new();
    let mut stranger: Option<String> = None;
    let mut out = Vec::with_capacity(input.len());
    for (i, b) in input.into_iter().enumerate() {
        let at = |f: &str| format!("blocks[{i}].{f}");
        let id = match b.id {
            Some(id) => {
                if id.is_empty()
                    || id.len() > 64
                    || !id
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                {
                    check.fail(&at("id"), "must be 1 to 64 of A-Z a-z 0-9 - _");
                }
                id
            }
            None => format!("b{}", uuid::Uuid::new_v4().simple()),
        };
        // An id already on the page is taken as absent (a new one is made, as the answer
        // shows): uniqueness across items is not something the API document can state.
        let id = if seen.contains(&id) {
            format!("b{}", uuid::Uuid::new_v4().simple())
        } else {
            id
        };
        seen.insert(id.clone());
        let Some(kind) = type_of(&b.kind) else {
            check.fail(
                &at("type"),
                "must be header, socials, links, products, product, drop, raffle, text or contact",
            );
            continue;
        };
        for name in b.settings.keys() {
            if !kind.settings().contains(&name.as_str()) {
                check.fail(
                    &at(&format!("settings.{name}")),
                    "is not a setting of this block",
                );
            }
        }
        let text = |name: &str| b.settings.get(name).map(|v| v.as_str().unwrap_or("\u{0}"));
        let mut settings = Map::new();
        let mut keep_text = |check: &mut Check,
                             name: &str,
                             max: usize,
                             multiline: bool,
                             required: bool| {
            match text(name) {
                None if required => check.fail(&at(&format!("settings.{name}")), "is required"),
                None => {}
                Some(v) => {
                    if let Some(v) = check.take(
                        &at(&format!("settings.{name}")),
                        validate::text(v, 1, max, multiline),
                    ) {
                        settings.insert(name.to_string(), Value::String(v));
                    }
                }
            }
        };
        match kind {
            BlockType::Text => {
                keep_text(&mut check, "title", 120, false, false);
                keep_text(&mut check, "body", 5000, true, true);
            }
            BlockType::Contact => {
                keep_text(&mut check, "title", 120, false, false);
                match text("email") {
                    None => check.fail(&at("settings.email"), "is required"),
                    Some(e) => {
                        if let Some(e) = check.take(&at("settings.email"), validate::email(e)) {
                            settings.insert("email".into(), Value::String(e));
                        }
                    }
                }
            }
            BlockType::Product | BlockType::Drop | BlockType::Raffle => {
                let (name, required) = match kind {
                    BlockType::Product => ("product_id", true),
                    BlockType::Drop => ("drop_id", false),
                    _ => ("raffle_id", false),
                };
                match text(name) {
                    None if required => check.fail(&at(&format!("settings.{name}")), "is required"),
                    None => {}
                    Some(v) => {
                        let ours = match kind {
                            BlockType::Product => {
                                ProductId::parse(v).is_some_and(|id| known.products.contains(&id))
                            }
                            BlockType::Drop => {
                                DropId::parse(v).is_some_and(|id| known.drops.contains(&id))
                            }
                            _ => RaffleId::parse(v).is_some_and(|id| known.raffles.contains(&id)),
                        };
                        if ours {
                            settings.insert(name.into(), Value::String(v.to_string()));
                        } else if v.parse::<uuid::Uuid>().is_err() {
                            check.fail(&at(&format!("settings.{name}")), "is not an id");
                        } else {
                            // Well formed, but not one of this storefront's (removed since,
                            // or someone else's): a conflict with what the storefront has.
                            stranger.get_or_insert(at(&format!("settings.{name}")));
                        }
                    }
                }
            }
            _ => {}
        }
        out.push(Block {
            id,
            kind,
            hidden: b.hidden,
            settings,
        });
    }
    check.finish()?;
    if let Some(field) = stranger {
        return Err(AppError::conflict(
            "unknown_reference",
            format!("{field} is not one of this storefront's"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> Vec<BlockInput> {
        serde_json::from_value(v).unwrap()
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Validation(f) => f.keys().cloned().collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_defaults_round_trip_and_order_is_kept() {
        let mut d: Vec<Value> = defaults()
            .iter()
            .map(|b| serde_json::to_value(b).unwrap())
            .collect();
        d.reverse();
        d[0]["hidden"] = json!(true);
        let out = validate(input(Value::Array(d)), &Known::default()).unwrap();
        assert_eq!(out[0].kind, BlockType::Products);
        assert!(out[0].hidden);
        assert_eq!(out.last().unwrap().kind, BlockType::Header);
        assert_eq!(parse(None), defaults());
    }

    #[test]
    fn unknown_types_settings_and_foreign_references_are_refused() {
        let p = ProductId::new();
        let known = Known {
            products: vec![p],
            ..Known::default()
        };
        let e = validate(
            input(json!([
                {"type": "carousel"},
                {"type": "text", "settings": {"body": "Hi", "colour": "red"}},
                {"type": "product", "settings": {"product_id": "nope"}},
                {"type": "contact", "settings": {"email": "nope"}},
            ])),
            &known,
        )
        .unwrap_err();
        let mut f = fields(e);
        f.sort();
        assert_eq!(
            f,
            vec![
                "blocks[0].type",
                "blocks[1].settings.colour",
                "blocks[2].settings.product_id",
                "blocks[3].settings.email",
            ]
        );
        // Another storefront's product: a conflict, named in the message.
        let e = validate(
            input(json!([{"type": "product", "settings": {"product_id": ProductId::new().to_string()}}])),
            &known,
        )
        .unwrap_err();
        assert!(
            matches!(&e, AppError::Conflict { code: "unknown_reference", message } if message.contains("blocks[0].settings.product_id")),
            "{e:?}"
        );
        // A repeated id is taken as absent: a new one is made.
        let twice = validate(
            input(json!([{"id": "x", "type": "links"}, {"id": "x", "type": "header"}])),
            &known,
        )
        .unwrap();
        assert_eq!(twice[0].id, "x");
        assert!(
            twice[1].id.starts_with('b') && twice[1].id != "x",
            "{twice:?}"
        );
        let ok = validate(
            input(json!([{"type": "product", "settings": {"product_id": p.to_string()}}])),
            &known,
        )
        .unwrap();
        assert!(ok[0].id.starts_with('b'), "an id is made");
    }
}
