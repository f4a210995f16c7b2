//! `fabdev identity …` and `fabdev connect`: parsing only.

use clap::{Args, Subcommand, ValueEnum};

use super::Format;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Issue an identity from the org's CA: a certificate with the NodeOU
    /// of its role and Fabric CA's attribute extension, which chaincode
    /// reads with the client identity library (GetAttributeValue).
    Add(IdentityAddArgs),
    /// Every identity of every peer org, the built-in Admin and User1 too.
    List {
        /// Output: a table, or one JSON array.
        #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Remove an identity made with `identity add`.
    Remove {
        /// The org (e.g. Org1).
        org: String,
        /// The identity's name.
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Transacts (NodeOU client).
    Client,
    /// Also an org admin (NodeOU admin).
    Admin,
}

#[derive(Debug, Args)]
pub struct IdentityAddArgs {
    /// The org whose CA issues it (e.g. Org1).
    pub org: String,
    /// Its name: what `--user` and `connect --user` take (letters, digits,
    /// '.', '_', '-').
    pub name: String,
    /// Its role.
    #[arg(long, value_enum, default_value_t = RoleArg::Client)]
    pub role: RoleArg,
    /// An attribute, `key=value` (repeatable), written into the certificate
    /// as Fabric CA does (`{"attrs":{…}}`, OID 1.2.3.4.5.6.7.8.1).
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
    /// Output: text, or the identity as one JSON object.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectFormat {
    /// `key: value` lines.
    Text,
    /// One JSON object.
    Json,
    /// `export NAME='value'` lines, named as the Fabric samples' Gateway
    /// applications read them: `eval "$(fabdev connect Org1 -o env)"`.
    Env,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The org whose peer the application talks to (e.g. Org1).
    pub org: String,
    /// The identity to connect as (default User1).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = ConnectFormat::Text)]
    pub output: ConnectFormat,
}
