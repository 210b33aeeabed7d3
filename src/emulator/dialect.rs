//! Which server the GraphQL face pretends to be: today's 2020 schema (the default), or an older
//! one, so clients' fallbacks can be tested against the real binary. `--without-create-user`
//! drops `createUser` from the schema; `--whitelist-spelling 2019` keeps only the 2019 whitelist
//! names (`qrCodePhone`, `enableQrCode`) and wraps validation errors as Authing error objects.
//! Each combination is its own async-graphql schema, so a document using what the server lacks
//! fails validation exactly as it would on such a server.

use async_graphql::{
    EmptySubscription, MergedObject, MergedObjectTail, ObjectType, Request, Response, Schema,
};

use super::invitation::{
    InvitationMutation, InvitationMutation2019, InvitationQuery, InvitationQuery2019,
};
use super::mutation::{CreateUserMutation, MutationRoot};
use super::query::QueryRoot;

/// The whitelist argument and field names the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhitelistSpelling {
    /// `phone`/`enablePhone`, and the 2019 names as aliases.
    #[default]
    Y2020,
    /// Only `qrCodePhone`/`enableQrCode`.
    Y2019,
}

/// The shape of the GraphQL schema served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub create_user: bool,
    pub whitelist_spelling: WhitelistSpelling,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            create_user: true,
            whitelist_spelling: WhitelistSpelling::Y2020,
        }
    }
}

impl Dialect {
    /// Validation errors as `{code, message}` objects (the older server's error formatting).
    pub fn wraps_validation_errors(self) -> bool {
        self.whitelist_spelling == WhitelistSpelling::Y2019
    }
}

/// `type Query`: the core operations and the whitelist queries of one spelling.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query<W: ObjectType + 'static>(QueryRoot, W);

/// `type Mutation`: the core operations, the whitelist mutations of one spelling, and
/// `createUser` or nothing.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation<W: ObjectType + 'static, C: ObjectType + 'static>(MutationRoot, W, C);

type Full = Schema<
    Query<InvitationQuery>,
    Mutation<InvitationMutation, CreateUserMutation>,
    EmptySubscription,
>;
type NoCreateUser = Schema<
    Query<InvitationQuery>,
    Mutation<InvitationMutation, MergedObjectTail>,
    EmptySubscription,
>;
type Old = Schema<
    Query<InvitationQuery2019>,
    Mutation<InvitationMutation2019, CreateUserMutation>,
    EmptySubscription,
>;
type OldNoCreateUser = Schema<
    Query<InvitationQuery2019>,
    Mutation<InvitationMutation2019, MergedObjectTail>,
    EmptySubscription,
>;

/// The schema of one dialect.
pub enum ApiSchema {
    Full(Full),
    NoCreateUser(NoCreateUser),
    Old(Old),
    OldNoCreateUser(OldNoCreateUser),
}

impl ApiSchema {
    /// The schema for `dialect`, with `data` (the shared state) available to every resolver.
    pub fn build<D: std::any::Any + Send + Sync>(dialect: Dialect, data: D) -> ApiSchema {
        fn query<W: ObjectType + Default + 'static>() -> Query<W> {
            Query(QueryRoot, W::default())
        }
        fn mutation<W, C>() -> Mutation<W, C>
        where
            W: ObjectType + Default + 'static,
            C: ObjectType + Default + 'static,
        {
            Mutation(MutationRoot, W::default(), C::default())
        }
        match (dialect.whitelist_spelling, dialect.create_user) {
            (WhitelistSpelling::Y2020, true) => ApiSchema::Full(
                Schema::build(query(), mutation(), EmptySubscription)
                    .data(data)
                    .finish(),
            ),
            (WhitelistSpelling::Y2020, false) => ApiSchema::NoCreateUser(
                Schema::build(query(), mutation(), EmptySubscription)
                    .data(data)
                    .finish(),
            ),
            (WhitelistSpelling::Y2019, true) => ApiSchema::Old(
                Schema::build(query(), mutation(), EmptySubscription)
                    .data(data)
                    .finish(),
            ),
            (WhitelistSpelling::Y2019, false) => ApiSchema::OldNoCreateUser(
                Schema::build(query(), mutation(), EmptySubscription)
                    .data(data)
                    .finish(),
            ),
        }
    }

    pub async fn execute(&self, request: Request) -> Response {
        match self {
            ApiSchema::Full(schema) => schema.execute(request).await,
            ApiSchema::NoCreateUser(schema) => schema.execute(request).await,
            ApiSchema::Old(schema) => schema.execute(request).await,
            ApiSchema::OldNoCreateUser(schema) => schema.execute(request).await,
        }
    }

    /// The schema in SDL.
    #[cfg(test)]
    pub fn sdl(&self) -> String {
        match self {
            ApiSchema::Full(schema) => schema.sdl(),
            ApiSchema::NoCreateUser(schema) => schema.sdl(),
            ApiSchema::Old(schema) => schema.sdl(),
            ApiSchema::OldNoCreateUser(schema) => schema.sdl(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdl(create_user: bool, whitelist_spelling: WhitelistSpelling) -> String {
        ApiSchema::build(
            Dialect {
                create_user,
                whitelist_spelling,
            },
            (),
        )
        .sdl()
    }

    /// The SDL block that starts with `start`.
    fn block<'a>(sdl: &'a str, start: &str) -> &'a str {
        let from = sdl.find(start).expect("type in the SDL");
        let to = sdl[from..].find('}').map_or(sdl.len(), |end| from + end);
        &sdl[from..to]
    }

    #[test]
    fn each_dialect_has_only_its_names() {
        let full = sdl(true, WhitelistSpelling::Y2020);
        assert!(
            full.contains("createUser(userInfo: UserRegisterInput!"),
            "{full}"
        );
        assert!(full.contains("enablePhone"));
        let without = sdl(false, WhitelistSpelling::Y2020);
        assert!(!without.contains("createUser("));
        assert!(without.contains("register(userInfo"));
        let old = sdl(true, WhitelistSpelling::Y2019);
        assert!(
            old.contains("addToInvitation(client: String!, qrCodePhone: String): Invitation"),
            "{old}"
        );
        assert!(old.contains(
            "setInvitationState(client: String!, enableQrCode: Boolean): InvitationState"
        ));
        assert!(!old.contains("enablePhone: Boolean"));
        assert!(!block(&old, "type Invitation ").contains("\tphone: String"));
        assert!(block(&full, "type Invitation ").contains("\tphone: String"));
    }
}
