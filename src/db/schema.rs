//! One schema for both backends. Kept by hand so that every column uses a type SQLite and
//! Postgres read back identically: `Text` ids (UUIDv7), `Timestamp` in UTC, `BigInt` money.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    storefronts (id) {
        id -> Text,
        owner_id -> Text,
        slug -> Text,
        title -> Text,
        bio -> Text,
        avatar_url -> Nullable<Text>,
        theme -> Text,
        links -> Text,
        socials -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        storefront_id -> Text,
        kind -> Text,
        title -> Text,
        description -> Text,
        price_cents -> BigInt,
        currency -> Text,
        details -> Text,
        status -> Text,
        position -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(storefronts -> users (owner_id));
diesel::joinable!(products -> storefronts (storefront_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    email_tokens,
    storefronts,
    products
);
