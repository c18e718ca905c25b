//! The typed calls of the contract's fixed interfaces, through [`crate::bindings`]: `describe`,
//! the oauth functions and `list-choices`, each a [`GuestCall`] the runner makes in a
//! fresh instance.

use crate::bindings::{choices_iface, definition_iface, oauth_iface, types_iface};
use crate::definition::ComponentDefinition;
use crate::oauth::{Authorization, TokenSet};
use crate::runner::{GuestCall, HostState};
use wasmtime::Store;
use wasmtime::component::Instance;

/// The typed `describe` call.
pub(crate) struct Describe(pub(crate) definition_iface::GuestIndices);

impl GuestCall for Describe {
    type Output = ComponentDefinition;

    async fn call(
        self,
        store: &mut Store<HostState>,
        instance: Instance,
    ) -> wasmtime::Result<ComponentDefinition> {
        let guest = self.0.load(&mut *store, &instance)?;
        guest.call_describe(&mut *store).await
    }
}

/// One function of the oauth interface and its arguments besides the connection.
pub(crate) enum OAuthCall {
    Authorize {
        redirect_uri: String,
    },
    ExchangeCode {
        redirect_uri: String,
        code: String,
        code_verifier: String,
    },
    Refresh {
        refresh_token: String,
    },
    RequestToken,
}

impl OAuthCall {
    /// The function's WIT name.
    pub(crate) fn function(&self) -> &'static str {
        match self {
            Self::Authorize { .. } => "authorize",
            Self::ExchangeCode { .. } => "exchange-code",
            Self::Refresh { .. } => "refresh",
            Self::RequestToken => "request-token",
        }
    }
}

/// What an oauth function answered.
pub(crate) enum OAuthAnswer {
    Authorization(oauth_iface::Authorization),
    Tokens(oauth_iface::TokenSet),
}

impl TryFrom<OAuthAnswer> for Authorization {
    type Error = ();
    fn try_from(answer: OAuthAnswer) -> Result<Self, ()> {
        match answer {
            OAuthAnswer::Authorization(a) => Ok(a.into()),
            OAuthAnswer::Tokens(_) => Err(()),
        }
    }
}

impl TryFrom<OAuthAnswer> for TokenSet {
    type Error = ();
    fn try_from(answer: OAuthAnswer) -> Result<Self, ()> {
        match answer {
            OAuthAnswer::Tokens(t) => Ok(t.into()),
            OAuthAnswer::Authorization(_) => Err(()),
        }
    }
}

/// An oauth call with its connection, ready to make.
pub(crate) struct OAuthInvocation {
    pub(crate) indices: oauth_iface::GuestIndices,
    pub(crate) connection: types_iface::Connection,
    pub(crate) call: OAuthCall,
}

impl GuestCall for OAuthInvocation {
    type Output = Result<OAuthAnswer, oauth_iface::OauthError>;

    async fn call(
        self,
        store: &mut Store<HostState>,
        instance: Instance,
    ) -> wasmtime::Result<Self::Output> {
        let guest = self.indices.load(&mut *store, &instance)?;
        let c = &self.connection;
        Ok(match self.call {
            OAuthCall::Authorize { redirect_uri } => guest
                .call_authorize(&mut *store, c, &redirect_uri)
                .await?
                .map(OAuthAnswer::Authorization),
            OAuthCall::ExchangeCode {
                redirect_uri,
                code,
                code_verifier,
            } => guest
                .call_exchange_code(&mut *store, c, &redirect_uri, &code, &code_verifier)
                .await?
                .map(OAuthAnswer::Tokens),
            OAuthCall::Refresh { refresh_token } => guest
                .call_refresh(&mut *store, c, &refresh_token)
                .await?
                .map(OAuthAnswer::Tokens),
            OAuthCall::RequestToken => guest
                .call_request_token(&mut *store, c)
                .await?
                .map(OAuthAnswer::Tokens),
        })
    }
}

/// A `list-choices` call with its connection and request, ready to make.
pub(crate) struct ListChoices {
    pub(crate) indices: choices_iface::GuestIndices,
    pub(crate) connection: types_iface::Connection,
    pub(crate) request: choices_iface::ChoicesRequest,
}

impl GuestCall for ListChoices {
    type Output = Result<choices_iface::ChoicesPage, types_iface::ActionError>;

    async fn call(
        self,
        store: &mut Store<HostState>,
        instance: Instance,
    ) -> wasmtime::Result<Self::Output> {
        let guest = self.indices.load(&mut *store, &instance)?;
        guest
            .call_list_choices(&mut *store, &self.connection, &self.request)
            .await
    }
}
