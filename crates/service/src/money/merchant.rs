//! Setting up a merchant: the merchant itself (its settlement card must be a
//! debit card of its owner), its shops, cashiers, API keys and notification
//! settings. Only the owner changes settings; cashiers take payments and
//! refunds. Who may do what is `domain::merchant::Role::may`.

use qiao_api as api;
use qiao_domain::ids::{ApiKeyId, CardId, MerchantId, NotificationId, ShopId, UserId};
use qiao_domain::merchant::{self, Action, Country, Mcc, NotifyUrl, Role};
use qiao_domain::money::Currency;
use qiao_domain::Error as Rule;
use qiao_store::{wire, ApiKeyRecord, MerchantRecord, MerchantUpdate, NewMerchant};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Money;
use crate::Result;

/// How long a key found in the store is trusted before it is read again.
pub const KEY_CACHE_MS: i64 = 30_000;

/// API keys start with this, so a leaked one is recognisable in logs and scans.
pub const API_KEY_PREFIX: &str = "qk_live_";

/// The SHA-256 of an API key, as stored.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn random_text(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// A merchant as its owner asks for it.
#[derive(Debug, Clone)]
pub struct MerchantForm {
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub mcc: String,
    pub currency: String,
    pub settlement_card: CardId,
    pub notify_url: Option<String>,
}

/// Who is calling a merchant API: a person of its staff, or its point of sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Staff(UserId),
    /// An API key: takes payments and refunds, like a cashier.
    Key,
}

impl Money {
    /// The role `user` has at `merchant`; a merchant they don't work at is
    /// `MerchantNotFound` (its existence is not theirs to learn).
    pub async fn role_at(&self, merchant: MerchantId, user: UserId) -> Result<Role> {
        self.store
            .staff_role(merchant, user)
            .await?
            .ok_or_else(|| Rule::MerchantNotFound.into())
    }

    /// `StaffNotAllowed` unless the caller may do `action` at `merchant`.
    pub async fn check_caller(&self, merchant: MerchantId, caller: Caller, action: Action) -> Result<()> {
        match caller {
            Caller::Staff(user) => Ok(self.role_at(merchant, user).await?.may(action)?),
            Caller::Key => Ok(Role::Cashier.may(action)?),
        }
    }

    /// Creates a merchant owned by `owner`; its signing secret is returned this once.
    pub async fn create_merchant(&self, owner: UserId, form: MerchantForm) -> Result<api::MerchantCreated> {
        let legal_name = merchant::name(&form.legal_name)?;
        let display_name = merchant::name(&form.display_name)?;
        let city = merchant::name(&form.city)?;
        let country = Country::parse(&form.country)?;
        let mcc = Mcc::parse(&form.mcc)?;
        let currency = Currency::parse(&form.currency)?;
        let notify_url = form.notify_url.as_deref().map(NotifyUrl::parse).transpose()?;
        self.debit_card(owner, form.settlement_card).await?;
        let signing_secret = format!("whsec_{}", random_text(24));
        let record = self
            .store
            .create_merchant(
                NewMerchant {
                    owner,
                    legal_name,
                    display_name,
                    country: country.as_str().to_owned(),
                    city,
                    mcc: mcc.as_str().to_owned(),
                    currency,
                    settlement_card: form.settlement_card,
                    notify_url: notify_url.map(|u| u.as_str().to_owned()),
                    signing_secret: signing_secret.clone(),
                },
                self.now_ms(),
            )
            .await?;
        Ok(api::MerchantCreated {
            merchant: wire::merchant(&record, Role::Owner),
            signing_secret,
        })
    }

    pub async fn merchants_of(&self, user: UserId) -> Result<Vec<api::Merchant>> {
        Ok(self
            .store
            .merchants_of(user)
            .await?
            .iter()
            .map(|(m, role)| wire::merchant(m, *role))
            .collect())
    }

    pub async fn merchant_for(&self, merchant: MerchantId, user: UserId) -> Result<api::Merchant> {
        let role = self.role_at(merchant, user).await?;
        Ok(wire::merchant(&self.store.merchant(merchant).await?, role))
    }

    /// The record behind a merchant id (for handlers that authenticated a key).
    pub async fn merchant_record(&self, merchant: MerchantId) -> Result<MerchantRecord> {
        Ok(self.store.merchant(merchant).await?)
    }

    pub async fn update_merchant(
        &self,
        merchant: MerchantId,
        user: UserId,
        request: api::UpdateMerchantRequest,
    ) -> Result<api::Merchant> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        let notify_url = if request.clear_notify_url {
            Some(None)
        } else {
            request
                .notify_url
                .as_deref()
                .map(|u| NotifyUrl::parse(u).map(|u| Some(u.as_str().to_owned())))
                .transpose()?
        };
        let settlement_card = request.settlement_card_id.map(CardId);
        if let Some(card) = settlement_card {
            self.debit_card(user, card).await?;
        }
        let update = MerchantUpdate {
            display_name: request.display_name.as_deref().map(merchant::name).transpose()?,
            city: request.city.as_deref().map(merchant::name).transpose()?,
            notify_url,
            settlement_card,
            signing_secret: None,
        };
        let record = self.store.update_merchant(merchant, update).await?;
        Ok(wire::merchant(&record, Role::Owner))
    }

    /// A new signing secret; notifications are signed with it from now on.
    pub async fn rotate_signing_secret(&self, merchant: MerchantId, user: UserId) -> Result<api::SigningSecret> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        let signing_secret = format!("whsec_{}", random_text(24));
        let update = MerchantUpdate {
            signing_secret: Some(signing_secret.clone()),
            ..MerchantUpdate::default()
        };
        self.store.update_merchant(merchant, update).await?;
        Ok(api::SigningSecret { signing_secret })
    }

    /// The operator marks a merchant verified (its business checked).
    pub async fn set_merchant_verified(&self, merchant: MerchantId, verified: bool) -> Result<()> {
        self.store.set_merchant_verified(merchant, verified).await?;
        Ok(())
    }

    pub async fn add_shop(&self, merchant: MerchantId, user: UserId, name: &str) -> Result<api::Shop> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        let name = merchant::name(name)?;
        Ok(wire::shop(&self.store.add_shop(merchant, &name, self.now_ms()).await?))
    }

    pub async fn shops(&self, merchant: MerchantId, user: UserId) -> Result<Vec<api::Shop>> {
        self.check_caller(merchant, Caller::Staff(user), Action::ViewOrders)
            .await?;
        Ok(self.store.shops(merchant).await?.iter().map(wire::shop).collect())
    }

    /// Adds a cashier. Only the `cashier` role can be given.
    pub async fn add_staff(
        &self,
        merchant: MerchantId,
        user: UserId,
        request: api::AddStaffRequest,
    ) -> Result<api::StaffMember> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        if Role::parse(&request.role) != Some(Role::Cashier) {
            return Err(Rule::InvalidRequest.into());
        }
        let staff = self
            .store
            .set_staff(
                merchant,
                UserId(request.user_id),
                request.shop_id.map(ShopId),
                self.now_ms(),
            )
            .await?;
        let person = self.store.user(staff.user_id).await?;
        Ok(staff_member(&staff, &person.display_name))
    }

    pub async fn remove_staff(&self, merchant: MerchantId, user: UserId, cashier: UserId) -> Result<()> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        Ok(self.store.remove_staff(merchant, cashier).await?)
    }

    pub async fn staff(&self, merchant: MerchantId, user: UserId) -> Result<Vec<api::StaffMember>> {
        self.check_caller(merchant, Caller::Staff(user), Action::ViewOrders)
            .await?;
        let staff = self.store.staff(merchant).await?;
        let ids: Vec<UserId> = staff.iter().map(|s| s.user_id).collect();
        let people = self.store.users(&ids).await?;
        Ok(staff
            .iter()
            .map(|s| {
                let name = people
                    .iter()
                    .find(|p| p.id == s.user_id)
                    .map_or("", |p| p.display_name.as_str());
                staff_member(s, name)
            })
            .collect())
    }

    /// A new API key for the point of sale: the secret is returned this once.
    pub async fn create_api_key(&self, merchant: MerchantId, user: UserId, label: &str) -> Result<api::ApiKeyCreated> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        let label = merchant::name(label)?;
        let secret = format!("{API_KEY_PREFIX}{}", random_text(24));
        let prefix: String = secret.chars().take(API_KEY_PREFIX.len() + 4).collect();
        let record = self
            .store
            .create_api_key(merchant, &hash_api_key(&secret), &prefix, &label, self.now_ms())
            .await?;
        Ok(api::ApiKeyCreated {
            key: wire::api_key(&record),
            secret,
        })
    }

    pub async fn api_keys(&self, merchant: MerchantId, user: UserId) -> Result<Vec<api::ApiKey>> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        Ok(self.store.api_keys(merchant).await?.iter().map(wire::api_key).collect())
    }

    pub async fn revoke_api_key(&self, merchant: MerchantId, user: UserId, key: ApiKeyId) -> Result<api::ApiKey> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        let revoked = self.store.revoke_api_key(merchant, key, self.now_ms()).await?;
        self.api_keys.lock().retain(|_, (record, _)| record.id != key);
        Ok(wire::api_key(&revoked))
    }

    /// The merchant a live API key belongs to; `InvalidApiKey` for anything
    /// else. A key found is trusted for [`KEY_CACHE_MS`] before it is read
    /// again; revoking it on this node forgets it at once (on other nodes,
    /// within that time).
    pub async fn authenticate_key(&self, key: &str) -> Result<ApiKeyRecord> {
        if !key.starts_with(API_KEY_PREFIX) {
            return Err(Rule::InvalidApiKey.into());
        }
        let hash = hash_api_key(key);
        let now = self.now_ms();
        if let Some((record, at)) = self.api_keys.lock().get(&hash) {
            if now.saturating_sub(*at) < KEY_CACHE_MS {
                return Ok(record.clone());
            }
        }
        let record = self.store.api_key_by_hash(&hash).await?.ok_or(Rule::InvalidApiKey)?;
        let mut cache = self.api_keys.lock();
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(hash, (record.clone(), now));
        Ok(record)
    }

    pub async fn notifications(&self, merchant: MerchantId, user: UserId) -> Result<Vec<api::Notification>> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        Ok(self
            .store
            .notifications(merchant, 100)
            .await?
            .iter()
            .map(wire::notification)
            .collect())
    }

    pub async fn resend_notification(
        &self,
        merchant: MerchantId,
        user: UserId,
        id: NotificationId,
    ) -> Result<api::Notification> {
        self.check_caller(merchant, Caller::Staff(user), Action::ChangeSettings)
            .await?;
        Ok(wire::notification(
            &self.store.resend_notification(merchant, id, self.now_ms()).await?,
        ))
    }
}

fn staff_member(s: &qiao_store::StaffRecord, name: &str) -> api::StaffMember {
    api::StaffMember {
        user_id: s.user_id.0,
        display_name: name.to_owned(),
        role: s.role.as_str().to_owned(),
        shop_id: s.shop_id.map(|id| id.0),
        added_at_ms: s.added_at_ms,
    }
}
