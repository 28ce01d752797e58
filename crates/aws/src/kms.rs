//! SOPS data keys wrapped by AWS KMS (a file's `sops.kms` entries): one
//! `kms:Decrypt` of the entry's ciphertext blob with its key ARN and the
//! encryption context SOPS recorded. The key never leaves as anything but
//! the 32 bytes the caller hands to the model's decryption.

use aws_smithy_types::Blob;
use base64::Engine as _;
use swarmkeeper_plan::ErrorKind;

use crate::client::Aws;
use crate::error::AwsError;

impl Aws {
    /// Unwrap one SOPS data key (`enc`: base64 of the ciphertext blob).
    pub async fn sops_data_key(
        &self,
        arn: &str,
        enc: &str,
        context: &std::collections::BTreeMap<String, String>,
    ) -> Result<[u8; 32], AwsError> {
        let invalid = |message: String| AwsError {
            action: "kms:Decrypt",
            code: "InvalidCiphertext".to_owned(),
            message,
            hint: Some("encrypt the file again with `sops encrypt --kms <arn>`".to_owned()),
            kind: ErrorKind::Invalid,
        };
        let blob = base64::engine::general_purpose::STANDARD
            .decode(enc.trim())
            .map_err(|_| invalid(format!("the SOPS entry for {arn} holds no base64 ciphertext")))?;
        let mut request = self.kms.decrypt().key_id(arn).ciphertext_blob(Blob::new(blob));
        for (k, v) in context {
            request = request.encryption_context(k, v);
        }
        let answer = self.call("kms:Decrypt", request.send()).await?;
        let plain = answer
            .plaintext()
            .ok_or_else(|| invalid(format!("KMS answered without the data key for {arn}")))?;
        plain
            .as_ref()
            .try_into()
            .map_err(|_| invalid(format!("the data key KMS returned for {arn} is not 32 bytes")))
    }
}
