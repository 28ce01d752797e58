//! Reading the parameters under a cluster's SSM prefix, page by page: the
//! one listing `observe` (everything, decrypted: the plan compares the join
//! tokens) and `reach` (one level, not decrypted: the addresses only, the
//! tokens below stay unread) share.

use crate::{Aws, AwsError};

/// How much of a prefix to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsmRead {
    /// Every parameter below the prefix, SecureStrings decrypted.
    Everything,
    /// The prefix's own parameters only, SecureStrings left encrypted.
    OneLevelUndecrypted,
}

impl Aws {
    /// `(name, value)` of each parameter under `prefix`, in SSM's order.
    pub(crate) async fn parameters_under(
        &self,
        prefix: &str,
        read: SsmRead,
    ) -> Result<Vec<(String, String)>, AwsError> {
        let everything = read == SsmRead::Everything;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .call(
                    "ssm:GetParametersByPath",
                    self.ssm
                        .get_parameters_by_path()
                        .path(prefix)
                        .recursive(everything)
                        .with_decryption(everything)
                        .set_next_token(token.take())
                        .send(),
                )
                .await?;
            for p in page.parameters() {
                if let (Some(name), Some(value)) = (p.name(), p.value()) {
                    out.push((name.to_owned(), value.to_owned()));
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
