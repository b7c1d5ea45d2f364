//! Model functions against both stores: the same cases run on SQLite and on Postgres.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use livedrop::db::models::token::{self, Effect, Purpose};
use livedrop::db::models::{now, user};
use livedrop::db::schema::email_tokens;
use livedrop::db::Store;
use livedrop::db_run;
use livedrop::domain::ids::UserId;
use livedrop::error::AppError;

use crate::support::TestApp;

fn new_user(email: &str) -> user::User {
    let t = now();
    user::User {
        id: UserId::new(),
        email: email.into(),
        password_hash: "!".into(),
        role: "buyer".into(),
        email_verified_at: None,
        created_at: t,
        updated_at: t,
    }
}

async fn users_round_trip_and_emails_are_unique(store: &Store) {
    let u = new_user("same@example.com");
    user::insert(store, &u).await.unwrap();
    let back = user::find(store, u.id).await.unwrap().unwrap();
    assert_eq!(back.email, u.email);
    // Timestamps come back exactly as written on both backends.
    assert_eq!(back.created_at, u.created_at);
    let by_email = user::find_by_email(store, "same@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.id, u.id);
    let dup = new_user("same@example.com");
    match user::insert(store, &dup).await {
        Err(e @ AppError::Conflict { .. }) => assert_eq!(e.code(), "email_taken"),
        other => panic!("expected email_taken, got {other:?}"),
    }
    assert!(user::find(store, dup.id).await.unwrap().is_none());
    assert!(user::find(store, UserId::new()).await.unwrap().is_none());
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(store: &Store) {
    let u = new_user("rotate@example.com");
    user::insert(store, &u).await.unwrap();
    let t1 = token::start_session(store, u.id).await.unwrap();
    let other_session = token::start_session(store, u.id).await.unwrap();
    let (who, t2) = token::rotate(store, &t1).await.unwrap();
    assert_eq!(who.id, u.id);
    assert!(token::rotate(store, &t1).await.is_err(), "reuse is refused");
    assert!(
        token::rotate(store, &t2).await.is_err(),
        "and kills the family"
    );
    let (_, _) = token::rotate(store, &other_session)
        .await
        .expect("another session of the same user is untouched");
}

async fn email_tokens_are_single_use_and_expire(store: &Store) {
    let u = new_user("mail@example.com");
    user::insert(store, &u).await.unwrap();
    let t = token::create_email_token(store, u.id, Purpose::Verify)
        .await
        .unwrap();
    // A verify token cannot reset a password.
    let wrong = token::consume_email_token(store, &t, Effect::SetPassword("x".into())).await;
    assert!(matches!(wrong, Err(AppError::InvalidToken)));
    assert_eq!(
        token::consume_email_token(store, &t, Effect::VerifyEmail)
            .await
            .unwrap(),
        u.id
    );
    assert!(user::find(store, u.id).await.unwrap().unwrap().verified());
    assert!(matches!(
        token::consume_email_token(store, &t, Effect::VerifyEmail).await,
        Err(AppError::InvalidToken)
    ));

    // Age a fresh token past its expiry: it no longer works.
    let t = token::create_email_token(store, u.id, Purpose::Reset)
        .await
        .unwrap();
    let past = now() - chrono::Duration::hours(2);
    let hash = livedrop::auth::hash_token(&t);
    let mut conn = store.write().await.unwrap();
    db_run!(conn, |c| {
        diesel::update(email_tokens::table.filter(email_tokens::token_hash.eq(&hash)))
            .set(email_tokens::expires_at.eq(past))
            .execute(c)
            .await
    })
    .unwrap();
    drop(conn);
    assert!(matches!(
        token::consume_email_token(store, &t, Effect::SetPassword("x".into())).await,
        Err(AppError::InvalidToken)
    ));
}

macro_rules! on_both {
    ($($case:ident => $sqlite:ident, $pg:ident;)*) => {$(
        #[actix_web::test]
        async fn $sqlite() {
            let app = TestApp::sqlite().await;
            $case(&app.state.store).await;
        }

        #[actix_web::test]
        #[ignore = "needs postgres"]
        async fn $pg() {
            let app = TestApp::postgres().await;
            $case(&app.state.store).await;
        }
    )*};
}

on_both! {
    users_round_trip_and_emails_are_unique =>
        users_round_trip_and_emails_are_unique_on_sqlite,
        users_round_trip_and_emails_are_unique_on_postgres;
    refresh_tokens_rotate_once_and_reuse_revokes_the_family =>
        refresh_tokens_rotate_once_and_reuse_revokes_the_family_on_sqlite,
        refresh_tokens_rotate_once_and_reuse_revokes_the_family_on_postgres;
    email_tokens_are_single_use_and_expire =>
        email_tokens_are_single_use_and_expire_on_sqlite,
        email_tokens_are_single_use_and_expire_on_postgres;
}

async fn storefronts_and_products_round_trip(store: &Store) {
    use livedrop::db::models::product::{self, ProductRow};
    use livedrop::db::models::storefront::{self, StorefrontRow};
    use livedrop::domain::ids::{ProductId, StorefrontId};
    let owner = new_user("owner@example.com");
    user::insert(store, &owner).await.unwrap();
    let t = now();
    let sf = StorefrontRow {
        platform_fee_bp: 500,
        id: StorefrontId::new(),
        owner_id: owner.id,
        slug: "round-trip".into(),
        title: "Round trip — ünïcode ✓".into(),
        bio: String::new(),
        avatar_url: None,
        theme: "{}".into(),
        links: "[]".into(),
        socials: "{}".into(),
        status: "draft".into(),
        created_at: t,
        updated_at: t,
    };
    storefront::insert(store, &sf).await.unwrap();
    let mut dup = sf.clone();
    dup.id = StorefrontId::new();
    let e = storefront::insert(store, &dup).await.unwrap_err();
    assert_eq!(e.code(), "slug_taken");
    let back = storefront::find_by_slug(store, "round-trip")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.id, back.title.as_str(), back.created_at),
        (sf.id, sf.title.as_str(), sf.created_at)
    );
    for (i, status) in ["draft", "published", "published"].iter().enumerate() {
        product::insert(
            store,
            &ProductRow {
                id: ProductId::new(),
                storefront_id: sf.id,
                kind: "service".into(),
                title: format!("P{i}"),
                description: String::new(),
                price_cents: 9_999_999_999,
                currency: "USD".into(),
                details: r#"{"kind":"service","duration_minutes":null}"#.into(),
                status: status.to_string(),
                position: i as i64,
                created_at: t,
                updated_at: t,
                sold: 0,
                archived_at: None,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(product::list(store, sf.id, true).await.unwrap().len(), 3);
    let public = product::list(store, sf.id, false).await.unwrap();
    assert_eq!(
        public.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(),
        ["P1", "P2"]
    );
    assert_eq!(
        public[0].price_cents, 9_999_999_999,
        "money survives as integer minor units"
    );
    assert_eq!(
        storefront::list_by_owner(store, owner.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

on_both! {
    storefronts_and_products_round_trip =>
        storefronts_and_products_round_trip_on_sqlite,
        storefronts_and_products_round_trip_on_postgres;
}
