//! Conversations and group governance: who may do what in a group.

use crate::limits::MAX_GROUP_MEMBERS;
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Direct,
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Group => "group",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "direct" => Some(Kind::Direct),
            "group" => Some(Kind::Group),
            _ => None,
        }
    }
}

/// A member's standing in a group. Direct conversations have two `Member`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// Any member may invite, as in WeChat groups without invite approval.
pub fn may_invite(_actor: Role, current_members: usize, invited: usize) -> Result<(), Error> {
    if current_members + invited > MAX_GROUP_MEMBERS {
        return Err(Error::GroupFull);
    }
    Ok(())
}

/// The owner removes anyone; an admin removes plain members only.
pub fn may_remove(actor: Role, target: Role) -> Result<(), Error> {
    match (actor, target) {
        (Role::Owner, Role::Owner) => Err(Error::Forbidden),
        (Role::Owner, _) => Ok(()),
        (Role::Admin, Role::Member) => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

/// Renaming and announcements are for the owner and admins.
pub fn may_edit_info(actor: Role) -> Result<(), Error> {
    if actor >= Role::Admin {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Only the owner appoints admins or hands over ownership.
pub fn may_manage_roles(actor: Role) -> Result<(), Error> {
    if actor == Role::Owner {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The owner must hand over ownership before leaving a group that has others in it.
pub fn may_leave(actor: Role, member_count: usize) -> Result<(), Error> {
    if actor == Role::Owner && member_count > 1 {
        Err(Error::OwnerMustTransfer)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn governance() {
        assert!(may_remove(Role::Owner, Role::Admin).is_ok());
        assert!(may_remove(Role::Admin, Role::Member).is_ok());
        assert_eq!(may_remove(Role::Admin, Role::Admin), Err(Error::Forbidden));
        assert_eq!(may_remove(Role::Member, Role::Member), Err(Error::Forbidden));
        assert_eq!(may_remove(Role::Owner, Role::Owner), Err(Error::Forbidden));
        assert!(may_edit_info(Role::Admin).is_ok());
        assert_eq!(may_edit_info(Role::Member), Err(Error::Forbidden));
        assert_eq!(may_manage_roles(Role::Admin), Err(Error::Forbidden));
        assert_eq!(may_leave(Role::Owner, 3), Err(Error::OwnerMustTransfer));
        assert!(may_leave(Role::Owner, 1).is_ok());
        assert!(may_invite(Role::Member, 499, 1).is_ok());
        assert_eq!(may_invite(Role::Member, 499, 2), Err(Error::GroupFull));
    }
}

/// A group announcement, trimmed: empty clears it; at most
/// [`crate::limits::MAX_ANNOUNCEMENT_CHARS`]; line breaks allowed, other
/// control characters not.
pub fn announcement(raw: &str) -> Result<String, crate::Error> {
    let text = raw.trim();
    if text.chars().count() > crate::limits::MAX_ANNOUNCEMENT_CHARS {
        return Err(crate::Error::TooLong);
    }
    if !crate::identity::is_sendable(text) {
        return Err(crate::Error::InvalidText);
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod announcement_tests {
    use super::*;

    #[test]
    fn announcements_keep_lines_but_no_other_control_characters() {
        assert_eq!(
            announcement("  line one\nline two  "),
            Ok("line one\nline two".to_owned())
        );
        assert_eq!(announcement(""), Ok(String::new()));
        assert_eq!(announcement("nul\0here"), Err(crate::Error::InvalidText));
        assert_eq!(announcement("bell\u{7}"), Err(crate::Error::InvalidText));
        assert_eq!(
            announcement(&"x".repeat(crate::limits::MAX_ANNOUNCEMENT_CHARS + 1)),
            Err(crate::Error::TooLong)
        );
        assert_eq!(
            crate::message::Content::text("a\0b").err(),
            Some(crate::Error::InvalidText)
        );
        assert!(crate::message::Content::text("tab\tand\nnewline").is_ok());
    }
}
