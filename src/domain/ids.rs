//! Typed ids. Every id is a UUIDv7 (time-ordered, so indexes stay compact, and not
//! guessable in practice), stored as lowercase hyphenated text on both backends.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::AsExpression, diesel::FromSqlRow, utoipa::ToSchema,
        )]
        #[diesel(sql_type = Text)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh UUIDv7.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
            /// Parse a path or body segment; `None` for anything that is not a UUID.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map($name)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }

        impl ToSql<Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, diesel::pg::Pg>) -> serialize::Result {
                let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
                let s = self.0.as_hyphenated().encode_lower(&mut buf);
                std::io::Write::write_all(out, s.as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, diesel::sqlite::Sqlite>) -> serialize::Result {
                out.set_value(self.to_string());
                Ok(IsNull::No)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let s = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                Ok($name(Uuid::parse_str(&s)?))
            }
        }
    )*};
}

id_type!(
    UserId,
    StorefrontId,
    ProductId,
    TokenId,
    FamilyId,
    DropId,
    VariantId,
    HoldId,
    OrderId,
    TicketId,
    EventTicketId,
    MembershipId,
    LogId,
    RaffleId,
    LedgerId,
    MailId,
    CollaboratorId,
    PayoutId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_round_trip_as_text() {
        let a = UserId::new();
        assert_eq!(a.0.get_version_num(), 7);
        assert_eq!(UserId::parse(&a.to_string()), Some(a));
        assert_eq!(UserId::parse("../etc/passwd"), None);
    }
}
