//! What every client command uses: the HTTP client, the sign-in kept in the
//! profile file (mode 0600), the idempotency keys of money commands that got
//! no answer (kept beside the profile, so running the command again retries
//! the same operation instead of making a second one), secrets asked without
//! echo, people's names, and local times.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use qiao_api as api;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::texts::Texts;

/// What the client remembers between commands.
#[derive(Serialize, Deserialize)]
pub struct Profile {
    pub server: String,
    pub token: String,
    pub user_id: i64,
    pub cursor: i64,
    /// The wallet's currency (from the region), so amounts are read without asking.
    #[serde(default)]
    pub currency: Option<String>,
}

/// Writes a file only its owner can read: it holds a bearer token.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        // A file made by an older client may have other permissions.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    use std::io::Write;
    file.write_all(text.as_bytes())?;
    Ok(())
}

impl Profile {
    pub fn load(path: &Path, texts: Texts) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| texts.not_signed_in())?;
        Ok(serde_json::from_str(&text)?)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_private(path, &serde_json::to_string_pretty(self)?)
    }
}

/// Idempotency keys of money commands sent but never answered, by what the
/// command asked for. Kept beside the profile until an answer comes.
pub struct PendingKeys {
    path: PathBuf,
    keys: BTreeMap<String, String>,
}

impl PendingKeys {
    pub fn beside(profile: &Path) -> Self {
        let mut name = profile.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".pending");
        let path = profile.with_file_name(name);
        let keys = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Self { path, keys }
    }

    /// The key for this request: the one an unanswered earlier try used, or a new one.
    pub fn key_for(&mut self, request: &str, texts: Texts) -> anyhow::Result<String> {
        if let Some(key) = self.keys.get(request) {
            eprintln!("{}", texts.retrying(key));
            return Ok(key.clone());
        }
        let key = uuid::Uuid::new_v4().simple().to_string();
        self.keys.insert(request.to_owned(), key.clone());
        self.save()?;
        Ok(key)
    }

    /// The request was answered (done, or refused for good): its key is spent.
    pub fn answered(&mut self, request: &str) -> anyhow::Result<()> {
        if self.keys.remove(request).is_some() {
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> anyhow::Result<()> {
        if self.keys.is_empty() {
            let _ = std::fs::remove_file(&self.path);
            return Ok(());
        }
        write_private(&self.path, &serde_json::to_string_pretty(&self.keys)?)
    }
}

/// How a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered with one of its stable error codes.
    #[error("{message} ({code})")]
    Answered { status: u16, code: String, message: String },
    /// No answer: the server is unreachable, or the connection broke.
    #[error("no answer from {server}: {cause}")]
    NoAnswer { server: String, cause: String },
}

impl CallError {
    /// Whether the operation may have happened without the client hearing
    /// of it (so a retry must use the same key).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            CallError::NoAnswer { .. } => true,
            // An internal error may have come after the change was made.
            CallError::Answered { status, .. } => *status >= 500 && *status != 504,
        }
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub server: String,
    pub token: Option<String>,
    pub lang: String,
    pub texts: Texts,
}

impl Client {
    pub async fn try_call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, CallError> {
        let no_answer = |cause: String| CallError::NoAnswer {
            server: self.server.clone(),
            cause,
        };
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| no_answer(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| no_answer(e.to_string()))?;
        if !status.is_success() {
            let error = error_of(status, &bytes);
            return Err(CallError::Answered {
                status: status.as_u16(),
                code: error.code,
                message: error.message,
            });
        }
        let bytes = if bytes.is_empty() { "null".into() } else { bytes };
        serde_json::from_slice(&bytes).map_err(|e| no_answer(format!("unreadable answer: {e}")))
    }

    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<T> {
        Ok(self.try_call(method, path, body).await?)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: serde_json::Value) -> anyhow::Result<T> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// A money request that must not happen twice: sent with the key of an
    /// earlier unanswered try of the same request (or a new one, kept until
    /// an answer comes), so running the command again after a failure
    /// retries the same operation. `body` gets the key as `idempotency_key`.
    pub async fn post_once<T: DeserializeOwned>(
        &self,
        pending: &mut PendingKeys,
        path: &str,
        mut body: serde_json::Value,
    ) -> anyhow::Result<T> {
        // What identifies the request: where it goes and what it asks for,
        // without its PIN, hashed so the file holds no details of it.
        let mut asked = body.clone();
        if let Some(fields) = asked.as_object_mut() {
            fields.remove("pin");
            fields.remove("password");
        }
        let request = hex::encode(sha2::Sha256::digest(format!("{path} {asked}").as_bytes()));
        let key = pending.key_for(&request, self.texts)?;
        body["idempotency_key"] = serde_json::Value::String(key);
        let result = self.try_call(reqwest::Method::POST, path, Some(body)).await;
        match &result {
            Err(e) if e.outcome_unknown() => {}
            _ => pending.answered(&request)?,
        }
        Ok(result?)
    }

    /// A request to the server with the language and, if signed in, the token.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{}", self.server, path))
            .header("Accept-Language", &self.lang);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// A POST of raw bytes (a photo to read a QR code from).
    pub async fn post_bytes<T: DeserializeOwned>(&self, path: &str, bytes: Vec<u8>) -> anyhow::Result<T> {
        let response = self
            .request(reqwest::Method::POST, path)
            .header("Content-Type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.server))?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            let error = error_of(status, &bytes);
            bail!("{} ({})", error.message, error.code);
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// A GET whose answer is text (the CSV export).
    pub async fn text(&self, path: &str) -> anyhow::Result<String> {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.server))?;
        if !response.status().is_success() {
            bail!("{}: {}", response.status(), response.text().await.unwrap_or_default());
        }
        Ok(response.text().await?)
    }
}

/// The error body of a refused request (or one made of its status and text).
fn error_of(status: reqwest::StatusCode, bytes: &[u8]) -> api::ErrorBody {
    serde_json::from_slice(bytes).unwrap_or(api::ErrorBody {
        code: status.as_str().to_owned(),
        message: String::from_utf8_lossy(bytes).into_owned(),
    })
}

/// A secret given on the command line (or in the environment), else asked
/// for on the terminal without echo.
pub fn secret(given: Option<&str>, prompt: &str, flag: &str, texts: Texts) -> anyhow::Result<String> {
    if let Some(given) = given {
        return Ok(given.to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{}", texts.no_terminal(flag));
    }
    Ok(rpassword::prompt_password(prompt)?)
}

/// People's display names, each fetched once per command.
pub struct Names {
    me: i64,
    known: HashMap<i64, String>,
}

impl Names {
    pub fn new(me: i64) -> Self {
        Self {
            me,
            known: HashMap::new(),
        }
    }

    pub fn learn(&mut self, id: i64, name: &str) {
        self.known.insert(id, name.to_owned());
    }

    pub async fn of(&mut self, client: &Client, id: i64) -> String {
        if id == self.me {
            return client.texts.me();
        }
        if let Some(name) = self.known.get(&id) {
            return name.clone();
        }
        let name = client
            .get::<api::UserSummary>(&format!("/api/users/{id}"))
            .await
            .map_or_else(|_| format!("#{id}"), |u| u.display_name);
        self.known.insert(id, name.clone());
        name
    }
}

/// An instant as the local date and time, to the minute.
pub fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_pending_keys_are_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("profile.json");
        let profile = Profile {
            server: "http://x".into(),
            token: "secret".into(),
            user_id: 1,
            cursor: 0,
            currency: None,
        };
        profile.save(&path).expect("saved");
        let mut pending = PendingKeys::beside(&path);
        let texts = Texts::for_lang("en-US");
        let first = pending.key_for("top-up 1", texts).expect("key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [path.clone(), dir.path().join("profile.json.pending")] {
                let mode = std::fs::metadata(&file).expect("exists").permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", file.display());
            }
        }
        // Unanswered: the same request gets the same key, in a later run too.
        assert_eq!(
            PendingKeys::beside(&path).key_for("top-up 1", texts).expect("key"),
            first
        );
        pending.answered("top-up 1").expect("saved");
        assert_ne!(
            PendingKeys::beside(&path).key_for("top-up 1", texts).expect("key"),
            first
        );
        assert!(CallError::NoAnswer {
            server: "x".into(),
            cause: "refused".into()
        }
        .outcome_unknown());
        let answered = |status| CallError::Answered {
            status,
            code: "c".into(),
            message: "m".into(),
        };
        assert!(answered(500).outcome_unknown());
        assert!(!answered(504).outcome_unknown(), "a bank timeout voided it");
        assert!(!answered(409).outcome_unknown());
    }
}
