//! The one error of the service layer: a rule said no (a stable domain code
//! the edge localizes), or something broke underneath (logged, never shown).

use qiao_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rejected: {0}")]
    Rejected(#[from] qiao_domain::Error),
    /// A scanned code of another payment scheme (`qr_other_scheme`), naming it.
    #[error("a {} code", .0.name())]
    ForeignQr(qiao_domain::emvco::Scheme),
    #[error("internal: {0}")]
    Internal(String),
    /// The database cannot be reached; retryable.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(code) => Error::Rejected(code),
            StoreError::Backend(cause) | StoreError::NeedsExclusive(cause) => Error::Internal(cause),
            StoreError::Unavailable(cause) => Error::Unavailable(cause),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<qiao_domain::emvco::QrError> for Error {
    fn from(e: qiao_domain::emvco::QrError) -> Self {
        match e {
            qiao_domain::emvco::QrError::OtherScheme(scheme) => Error::ForeignQr(scheme),
            other => Error::Rejected(other.code()),
        }
    }
}
