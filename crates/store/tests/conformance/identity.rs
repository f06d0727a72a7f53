//! Projects, users, tokens, access keys, logins and settings.

use teamlabel_core::error::ErrorKind;
use teamlabel_core::iam::auth::Role;
use teamlabel_core::ids::new_hex32;
use teamlabel_core::store::{TokenRecord, User};

use crate::common::*;

#[tokio::test]
async fn projects_users_and_tokens_are_stored_and_found() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, owner) = project(s).await;
        assert_eq!(s.get_project(&p.id).await.unwrap(), p, "{}", b.name);
        assert_eq!(s.get_project(&new_hex32()).await.unwrap_err().kind, ErrorKind::NotFound);
        assert!(s.find_first_project().await.unwrap().is_some());
        assert_eq!(
            s.find_user_by_email(&p.id, &owner.email).await.unwrap(),
            Some(owner.clone())
        );
        assert_eq!(s.find_user_by_email(&p.id, "nobody@example.com").await.unwrap(), None);

        let member = User {
            id: new_hex32(),
            project_id: p.id.clone(),
            email: "m@example.com".into(),
            role: Role::Labeler,
            create_time: 2,
        };
        s.insert_user(&member).await.unwrap();
        assert!(
            s.insert_user(&User {
                id: new_hex32(),
                ..member.clone()
            })
            .await
            .is_err(),
            "{}: same email twice",
            b.name
        );

        let t = TokenRecord {
            hash: new_hex32(),
            user_id: member.id.clone(),
            project_id: p.id.clone(),
            expires_at: 99,
            create_time: 1,
        };
        s.insert_token(&t).await.unwrap();
        let (found, user) = s.find_token(&t.hash).await.unwrap().unwrap();
        assert_eq!((found, user), (t, member));
        assert_eq!(s.find_token("nope").await.unwrap(), None);
        s.ping().await.unwrap();
    }
}

#[tokio::test]
async fn access_keys_logins_and_settings_are_stored_and_found() {
    use teamlabel_core::store::{AccessKeyRecord, LoginState};
    for b in backends().await {
        let s = b.store.as_ref();
        let (p, owner) = project(s).await;
        let (other, stranger) = project(s).await;
        let key = |ak: &str, user: &User, expires_at: Option<i64>, time: i64| AccessKeyRecord {
            access_key: ak.to_string(),
            user_id: user.id.clone(),
            project_id: user.project_id.clone(),
            sealed_secret: vec![0, 1, 2, 255],
            description: "d".into(),
            security_token_hash: expires_at.map(|_| "h".to_string()),
            expires_at,
            create_time: time,
        };
        let (ak1, ak2, ak3) = (new_hex32(), new_hex32(), new_hex32());
        s.insert_access_key(&key(&ak1, &owner, None, 1)).await.unwrap();
        s.insert_access_key(&key(&ak2, &owner, Some(100), 2)).await.unwrap();
        s.insert_access_key(&key(&ak3, &stranger, None, 3)).await.unwrap();
        assert!(
            s.insert_access_key(&key(&ak1, &owner, None, 4)).await.is_err(),
            "{}",
            b.name
        );
        let (found, user) = s.find_access_key(&ak2).await.unwrap().unwrap();
        assert_eq!(
            (found, user),
            (key(&ak2, &owner, Some(100), 2), owner.clone()),
            "{}",
            b.name
        );
        assert_eq!(s.find_access_key("nope").await.unwrap(), None);

        // Newest first, the project's only, temporary ones only while valid.
        let listed = |now| s.list_access_keys(&p.id, None, now, 0, 10);
        let (n, rows) = listed(50).await.unwrap();
        let aks: Vec<&str> = rows.iter().map(|(k, _)| k.access_key.as_str()).collect();
        assert_eq!((n, aks), (2, vec![ak2.as_str(), ak1.as_str()]), "{}", b.name);
        assert_eq!(listed(100).await.unwrap().0, 1, "{}: expired", b.name);
        assert_eq!(
            s.list_access_keys(&p.id, Some(&owner.id), 50, 1, 1).await.unwrap().1[0]
                .0
                .access_key,
            ak1
        );
        assert_eq!(
            s.list_access_keys(&p.id, Some(&stranger.id), 50, 0, 10)
                .await
                .unwrap()
                .0,
            0
        );

        assert!(
            !s.delete_access_key(&other.id, &ak1).await.unwrap(),
            "{}: another project's key",
            b.name
        );
        assert!(s.delete_access_key(&p.id, &ak1).await.unwrap());
        assert!(!s.delete_access_key(&p.id, &ak1).await.unwrap());
        assert_eq!(s.purge_expired_access_keys(100).await.unwrap(), 1, "{}", b.name);
        assert_eq!(s.find_access_key(&ak2).await.unwrap(), None);
        assert!(s.find_access_key(&ak3).await.unwrap().is_some());

        // Sign-in state: by id or email, compare-and-set.
        let login = s.find_login(&p.id, &owner.email.to_uppercase()).await.unwrap().unwrap();
        assert_eq!((login.user.clone(), login.password_hash.clone()), (owner.clone(), None));
        assert_eq!(s.find_login(&p.id, &owner.id).await.unwrap().unwrap().user, owner);
        assert_eq!(s.find_login(&other.id, &owner.id).await.unwrap(), None, "{}", b.name);
        let locked = LoginState {
            failed: 0,
            locked_until: 500,
        };
        assert!(s
            .update_login_state(&owner.id, LoginState::default(), locked)
            .await
            .unwrap());
        assert!(!s
            .update_login_state(&owner.id, LoginState::default(), locked)
            .await
            .unwrap());
        assert_eq!(s.find_login(&p.id, &owner.id).await.unwrap().unwrap().state, locked);
        s.set_password(&owner.id, Some("$argon2id$x")).await.unwrap();
        let after = s.find_login(&p.id, &owner.id).await.unwrap().unwrap();
        assert_eq!(
            (after.password_hash.as_deref(), after.state),
            (Some("$argon2id$x"), LoginState::default())
        );
        assert_eq!(
            s.set_password(&new_hex32(), None).await.unwrap_err().kind,
            ErrorKind::NotFound
        );

        assert!(s.list_projects_by_name("p").await.unwrap().len() >= 2);
        assert_eq!(s.list_projects_by_name(&new_hex32()).await.unwrap(), vec![]);
        let name = new_hex32();
        assert_eq!(s.setting_or_insert(&name, "a").await.unwrap(), "a");
        assert_eq!(s.setting_or_insert(&name, "b").await.unwrap(), "a", "{}", b.name);
    }
}
