//! The GraphQL documents Authing's official SDKs and docs send, verbatim where the wire facts
//! quote them (whitespace condensed where the facts condense it). Tags as in the wire facts:
//! SDK = authing-js-sdk 2.23.1, DOC19 = the 2019 API page, GEN20 = the 2020 generated documents,
//! PY = the Python SDK, JS1 = authing-js-sdk 1.5.0.

/// SDK: the init query, an anonymous query with inline literal arguments.
pub fn init_sdk(secret: &str, client_id: &str) -> String {
    format!(
        "query {{ getClientWhenSdkInit(secret: \"{secret}\", clientId: \"{client_id}\") {{ accessToken clientInfo {{ _id name descriptions jwtExpired createdAt isDeleted logo emailVerifiedDefault registerDisabled showWXMPQRCode useMiniLogin allowedOrigins clientType {{ _id name description image example }} }} }} }}"
    )
}

/// SDK browser mode: timestamp, nonce and signature instead of the secret.
pub fn init_browser(client_id: &str) -> String {
    format!(
        "query {{ getClientWhenSdkInit(timestamp: \"1571810691\", clientId: \"{client_id}\", nonce: 4711, signature: \"0f3c8e2f7d1f2a9b6c1e5d4a3b2c1d0e9f8a7b6c\") {{ accessToken }} }}"
    )
}

/// DOC19: the init query with variables.
pub const INIT_DOC19: &str = r#"query getClientWhenSdkInit($secret: String, $clientId: String, $retUserId: Boolean, $timestamp: String, $signature: String, $nonce: Int){
    getClientWhenSdkInit(secret: $secret, clientId: $clientId, retUserId: $retUserId, timestamp: $timestamp, signature: $signature, nonce: $nonce){
      accessToken
      clientInfo {
        _id
        name
        descriptions
        jwtExpired
        createdAt
        isDeleted
        logo
        emailVerifiedDefault
        registerDisabled
        allowedOrigins
        clientType {
          _id
          name
          description
          image
          example
        }
      }
    }
}"#;

/// JS1 (1.5.0): the owner token as a bare String, inline literals.
pub fn access_token_js1(secret: &str, client_id: &str) -> String {
    format!(
        "query {{ getAccessTokenByAppSecret(secret: \"{secret}\", clientId: \"{client_id}\") }}"
    )
}

/// PY (0.16.9): the same with variables.
pub const ACCESS_TOKEN_PY: &str = "query getAccessTokenByAppSecret($secret: String!, $clientId: String!){ getAccessTokenByAppSecret(secret: $secret, clientId: $clientId) }";

/// SDK: `list(page, count)`.
pub const USERS_SDK: &str = "query users($registerInClient: String, $page: Int, $count: Int, $populate: Boolean){
  users(registerInClient: $registerInClient, page: $page, count: $count, populate: $populate) {
    totalCount list { _id email emailVerified username nickname phone unionid oauth company photo browser password registerInClient registerMethod token tokenExpiredAt loginsCount lastLogin lastIP signedUp blocked isDeleted userLocation { _id when where } userLoginHistory { totalCount list { _id when success ip result } } }
  }
}";

/// DOC19: `users` with group, clientType and systemApplicationType.
pub const USERS_DOC19: &str = r#"query users($registerInClient: String, $page: Int, $count: Int){
  users(registerInClient: $registerInClient, page: $page, count: $count) {
    totalCount
    list {
      _id
      email
      emailVerified
      username
      nickname
      company
      photo
      browser
      password
      registerInClient
      token
      tokenExpiredAt
      loginsCount
      lastLogin
      lastIP
      signedUp
      blocked
      isDeleted
      group {
        _id
        name
        descriptions
        createdAt
      }
      clientType {
        _id
        name
        description
        image
        example
      }
      userLocation {
        _id
        when
        where
      }
      userLoginHistory {
        totalCount
        list{
          _id
          when
          success
          ip
          result
        }
      }
      systemApplicationType {
        _id
        name
        descriptions
        price
      }
    }
  }
}"#;

/// SDK and PY: `userPatch` with `$ids: String!`.
pub const USER_PATCH_SDK: &str = "query userPatch($ids: String!){ userPatch(ids: $ids) { list { _id unionid email emailVerified username nickname company photo browser registerInClient registerMethod oauth token tokenExpiredAt loginsCount lastLogin lastIP signedUp blocked isDeleted userLocation { _id when where } userLoginHistory { totalCount list { _id when success ip result } } } totalCount } }";

/// DOC19: `userPatch` with a nullable `$ids: String`.
pub const USER_PATCH_DOC19: &str = r#"query userPatch($ids: String){
    userPatch(ids: $ids){
      list {
        _id
        unionid
        email
        emailVerified
        username
        nickname
        company
        photo
        browser
        registerInClient
        registerMethod
        oauth
        token
        tokenExpiredAt
        loginsCount
        lastLogin
        lastIP
        signedUp
        blocked
        isDeleted
        userLocation {
          _id
          when
          where
        }
        userLoginHistory {
          totalCount
          list {
            _id
            when
            success
            ip
            result
          }
        }
      }
      totalCount
    }
}"#;

/// SDK and DOC19: `user`.
pub const USER_SDK: &str = "query user($id: String!, $registerInClient: String!){ user(id: $id, registerInClient: $registerInClient) { _id unionid email emailVerified username nickname company photo browser registerInClient registerMethod oauth token tokenExpiredAt loginsCount lastLogin lastIP signedUp blocked isDeleted userLocation { _id when where } userLoginHistory { totalCount list { _id when success ip result } } } }";

/// SDK: `register`, every variable declared and packed inline into `userInfo`, with the
/// trailing comma inside the object literal.
pub const REGISTER_SDK: &str = "mutation register( $unionid: String, $openid: String, $email: String, $phone: String, $password: String, $lastIP: String, $gender: String, $birthdate: String, $region: String, $locality: String, $name: String, $givenName: String, $familyName: String, $middleName: String, $profile: String, $preferredUsername: String, $website: String, $zoneinfo: String, $locale: String, $address: String, $formatted: String, $streetAddress: String, $postalCode: String, $country: String, $updatedAt: String, $forceLogin: Boolean, $registerInClient: String!, $oauth: String, $username: String, $nickname: String, $registerMethod: String, $photo: String, $company: String, $browser: String, $invitationCode: String, $keepPassword: Boolean ) {
    register(keepPassword: $keepPassword, invitationCode: $invitationCode, userInfo: { unionid: $unionid, openid: $openid, email: $email, phone: $phone, password: $password, lastIP: $lastIP, forceLogin: $forceLogin, registerInClient: $registerInClient, oauth: $oauth, registerMethod: $registerMethod, name: $name, givenName: $givenName, familyName: $familyName, middleName: $middleName, profile: $profile, preferredUsername: $preferredUsername, website: $website, zoneinfo: $zoneinfo, locale: $locale, address: $address, formatted: $formatted, streetAddress: $streetAddress, postalCode: $postalCode, country: $country, updatedAt: $updatedAt, gender: $gender, birthdate: $birthdate, region: $region, locality: $locality, photo: $photo, username: $username, nickname: $nickname, company: $company, browser: $browser, }) {
        _id, email, phone, emailVerified, unionid, openid, oauth, registerMethod, username, nickname, company, photo, browser, password, token, group { name }, blocked, device
    }
}";

/// DOC19: `register`.
pub const REGISTER_DOC19: &str = r#"mutation register(
    $unionid: String,
    $email: String, 
    $password: String, 
    $lastIP: String, 
    $forceLogin: Boolean,
    $registerInClient: String!,
    $oauth: String,
    $username: String,
    $nickname: String,
    $registerMethod: String,
    $photo: String,
    $browser: String, 
    $device: String
) {
    register(userInfo: {
        unionid: $unionid,
        email: $email,
        password: $password,
        lastIP: $lastIP,
        forceLogin: $forceLogin,
        registerInClient: $registerInClient,
        oauth: $oauth,
        registerMethod: $registerMethod,
        photo: $photo,
        username: $username,
        nickname: $nickname,
        device: $device,
        browser: $browser
    }) {
        _id,
        email,
        emailVerified,
        username,
        nickname,
        company,
        photo,
        browser,
        password,
        token,
        group {
            name
        },
        blocked,
        device
    }
}"#;

/// SDK: `login`.
pub const LOGIN_SDK: &str = "mutation login($unionid: String, $email: String, $username: String, $password: String, $lastIP: String, $registerInClient: String!, $verifyCode: String, $browser: String, $openid: String, $MFACode: String) {
    login(unionid: $unionid, email: $email, username: $username, password: $password, lastIP: $lastIP, registerInClient: $registerInClient, verifyCode: $verifyCode, browser: $browser, openid: $openid, MFACode: $MFACode) {
        _id email emailVerified unionid openid oauth registerMethod username nickname company photo token tokenExpiredAt loginsCount lastLogin lastIP signedUp blocked isDeleted
    }
}";

/// DOC19: `login`.
pub const LOGIN_DOC19: &str = r#"mutation login($unionid: String, $email: String, $password: String, $lastIP: String, $registerInClient: String!, $verifyCode: String, $browser: String, $device: String) {
    login(unionid: $unionid, email: $email, password: $password, lastIP: $lastIP, registerInClient: $registerInClient, verifyCode: $verifyCode, browser: $browser, device: $device) {
        _id
        email
        emailVerified
        username
        nickname
        company
        photo
        browser
        token
        tokenExpiredAt
        loginsCount
        lastLogin
        lastIP
        signedUp
        blocked
        isDeleted
    }
}"#;

/// DOC19: the static `UpdateUser`.
pub const UPDATE_USER_DOC19: &str = r#"mutation UpdateUser(
    $_id: String!,
    $email: String,
    $emailVerified: Boolean,
    $username: String,
    $nickname: String,
    $company: String,
    $photo: String,
    $browser: String,
    $password: String,
    $oldPassword: String,
    $registerInClient: String!,
    $token: String,
    $tokenExpiredAt: String,
    $loginsCount: Int,
    $lastLogin: String,
    $lastIP: String,
    $signedUp: String,
    $blocked: Boolean,
    $isDeleted: Boolean
){
  updateUser(options: {
    _id: $_id,
    email: $email,
    emailVerified: $emailVerified,
    username: $username,
    nickname: $nickname,
    company: $company,
    photo: $photo,
    browser: $browser,
    password: $password,
    oldPassword: $oldPassword,
    registerInClient: $registerInClient,
    token: $token,
    tokenExpiredAt: $tokenExpiredAt,
    loginsCount: $loginsCount,
    lastLogin: $lastLogin,
    lastIP: $lastIP,
    signedUp: $signedUp,
    blocked: $blocked,
    isDeleted: $isDeleted
  }) {
    _id
    email
    emailVerified
    username
    nickname
    company
    photo
    browser
    registerInClient
    registerMethod
    oauth
    token
    tokenExpiredAt
    loginsCount
    lastLogin
    lastIP
    signedUp
    blocked
    isDeleted
  }
}"#;

/// SDK: the variable types of the dynamic `UpdateUser` document.
const UPDATE_USER_SDK_TYPES: &[(&str, &str)] = &[
    ("_id", "String!"),
    ("email", "String"),
    ("emailVerified", "Boolean"),
    ("username", "String"),
    ("nickname", "String"),
    ("company", "String"),
    ("photo", "String"),
    ("oauth", "String"),
    ("browser", "String"),
    ("password", "String"),
    ("oldPassword", "String"),
    ("registerInClient", "String!"),
    ("phone", "String"),
    ("token", "String"),
    ("tokenExpiredAt", "String"),
    ("loginsCount", "Int"),
    ("lastLogin", "String"),
    ("lastIP", "String"),
    ("signedUp", "String"),
    ("blocked", "Boolean"),
    ("isDeleted", "Boolean"),
];

/// SDK: the dynamic `UpdateUser` document, declaring only the keys given (sent with
/// `operationName: "UpdateUser"`).
pub fn update_user_sdk(keys: &[&str]) -> String {
    let present: Vec<(&str, &str)> = UPDATE_USER_SDK_TYPES
        .iter()
        .copied()
        .filter(|(key, _)| keys.contains(key))
        .collect();
    let declarations: Vec<String> = present
        .iter()
        .map(|(key, ty)| format!("${key}: {ty}"))
        .collect();
    let fields: Vec<String> = present
        .iter()
        .map(|(key, _)| format!("{key}: ${key}"))
        .collect();
    format!(
        "mutation UpdateUser({}){{ updateUser(options: {{ {} }}) {{ _id email emailVerified username nickname company photo browser registerInClient registerMethod oauth phone token tokenExpiredAt loginsCount lastLogin lastIP signedUp blocked isDeleted }} }}",
        declarations.join(", "),
        fields.join(", ")
    )
}

/// SDK, JS1, PY and DOC19: `removeUsers` (no operationName).
pub const REMOVE_USERS: &str = "mutation removeUsers($ids: [String], $registerInClient: String, $operator: String){ removeUsers(ids: $ids, registerInClient: $registerInClient, operator: $operator) { _id } }";

/// DOC19 (and SDK): `RefreshToken`.
pub const REFRESH_TOKEN: &str = r#"mutation RefreshToken(
  $client: String!
  $user: String!
) {
  refreshToken(
    client: $client
    user: $user
  ) {
    token
    iat
    exp
  }
}"#;

/// SDK: `checkLoginStatus` with a token argument.
pub const CHECK_LOGIN_SDK: &str = "query checkLoginStatus($token: String) { checkLoginStatus(token: $token) { status code message token { data { email id clientId unionid } iat exp } } }";

/// DOC19: `checkLoginStatus` of the caller's own token.
pub const CHECK_LOGIN_DOC19: &str = r#"query checkLoginStatus {
    checkLoginStatus {
        status
        code
        message
    }
}"#;

/// SDK: `decodeJwtToken`.
pub const DECODE_SDK: &str = "query decodeJwtToken($token: String) { decodeJwtToken(token: $token) { data { email id clientId } status { code message } iat exp } }";

/// DOC19: `decodeJwtToken`.
pub const DECODE_DOC19: &str = r#"query decodeJwtToken($token: String){
    decodeJwtToken(token: $token){
        data{
            email
            id
            clientId
            unionid
        }
        status{
            message
            code
            status
        }
        iat
        exp
    }
}"#;

/// DOC19: the whitelist switch (2019 spelling `enableQrCode`, trailing comma).
pub const SET_INVITATION_STATE_DOC19: &str = r#"mutation setInvitationState($client: String!, $enableQrCode: Boolean){
  setInvitationState(
    client: $client,
    enableQrCode: $enableQrCode,    
  ) {
    client,
    enableQrCode,
    createdAt,
    updatedAt
  }
}"#;

/// DOC19.
pub const QUERY_INVITATION_STATE_DOC19: &str = r#"query queryInvitationState($client: String!){
  queryInvitationState(
    client: $client,
  ) {
	client,
 	enableQrCode
  }
}"#;

/// DOC19: note the misspelt variable `$qrCodPhone`.
pub const ADD_TO_INVITATION_DOC19: &str = r#"mutation addToInvitation($client: String!, $qrCodPhone: String){
  addToInvitation(
    client: $client,
    qrCodePhone: $qrCodPhone,    
  ) {
    client,
    qrCodePhone,
  }
}"#;

/// DOC19.
pub const REMOVE_FROM_INVITATION_DOC19: &str = r#"mutation removeFromInvitation($client: String!, $qrCodePhone: String){
  removeFromInvitation(
    client: $client,
    qrCodePhone: $qrCodePhone,    
  ) {
    client,
    qrCodePhone,
  }
}"#;

/// DOC19.
pub const QUERY_INVITATION_DOC19: &str = r#"query queryInvitation($client: String!){
  queryInvitation(
  client: $client,
  ) {
	client,
 	qrCodePhone
  }
}"#;

/// GEN20: `addToInvitation` with the 2020 `phone` argument.
pub const ADD_TO_INVITATION_GEN20: &str = "mutation addToInvitation($client: String!, $phone: String){ addToInvitation(client: $client, phone: $phone){ client phone isDeleted createdAt updatedAt } }";

/// GEN20 shape: `removeFromInvitation`.
pub const REMOVE_FROM_INVITATION_GEN20: &str = "mutation removeFromInvitation($client: String!, $phone: String){ removeFromInvitation(client: $client, phone: $phone){ client phone isDeleted createdAt updatedAt } }";

/// GEN20 shape: `setInvitationState` with `enablePhone`.
pub const SET_INVITATION_STATE_GEN20: &str = "mutation setInvitationState($client: String!, $enablePhone: Boolean){ setInvitationState(client: $client, enablePhone: $enablePhone){ client enablePhone createdAt updatedAt } }";

/// GEN20 shape: `queryInvitation` (a list).
pub const QUERY_INVITATION_GEN20: &str = "query queryInvitation($client: String!){ queryInvitation(client: $client){ client phone isDeleted createdAt updatedAt } }";

/// GEN20 shape: `queryInvitationState`.
pub const QUERY_INVITATION_STATE_GEN20: &str = "query queryInvitationState($client: String!){ queryInvitationState(client: $client){ client enablePhone createdAt updatedAt } }";

/// SDK, PY, GEN20: `queryMFA`.
pub const QUERY_MFA_SDK: &str = "query queryMFA($_id: String,$userId: String,$userPoolId: String) { queryMFA(_id: $_id, userId: $userId, userPoolId: $userPoolId) { _id userId userPoolId enable shareKey } }";

/// DOC19: `queryMFA` with `page` and `count`.
pub const QUERY_MFA_DOC19: &str = r#"query queryMFA($_id: String, $userId: String, $userPoolId: String, $page: Int, $count: Int) {
  queryMFA(_id: $_id, userId: $userId, userPoolId: $userPoolId, page: $page, count: $count) {
    _id
    userId
    userPoolId
    enable
    shareKey
  }
}"#;

/// SDK, DOC19, PY: `changeMFA`.
pub const CHANGE_MFA: &str = "mutation changeMFA($_id: String,$userId: String,$userPoolId: String,$enable: Boolean!, $refreshKey: Boolean) { changeMFA(_id: $_id, userId: $userId, userPoolId: $userPoolId, enable: $enable, refreshKey: $refreshKey) { _id userId userPoolId shareKey enable } }";

/// DOC19: `sendResetPasswordEmail`.
pub const SEND_RESET_PASSWORD_EMAIL: &str = r#"mutation sendResetPasswordEmail(
    $email: String!,
    $client: String!
){
    sendResetPasswordEmail(
        email: $email,
        client: $client
    ) {
          message
          code
          status
    }
}"#;

/// SDL (2020): `createUser`, the management copy of `register` (owner token).
pub const CREATE_USER: &str = "mutation createUser($userInfo: UserRegisterInput!, $invitationCode: String, $keepPassword: Boolean) { createUser(userInfo: $userInfo, invitationCode: $invitationCode, keepPassword: $keepPassword) { _id email username phone nickname emailVerified blocked token registerInClient } }";
