#!/usr/bin/env bash
# End-to-end smoke test of the integration-test servers, without C#:
# starts the OAuth server and a private Dovecot, gets tokens (auth-code + PKCE through the real
# login/consent forms with curl and a cookie jar, refresh rotation, client credentials, device flow),
# speaks POP3 over TLS with AUTH XOAUTH2 / OAUTHBEARER, checks the failure replies, stops everything.
# Exit 0 only if every check passed. Needs: tests/infra/install.sh done, root.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d /tmp/ftg-smoke-XXXXXX)"
OAUTH_STATE="$WORK/oauth.json"
DC_STATE="$WORK/dovecot.json"
DC2_STATE="$WORK/dovecot2.json"
JAR="$WORK/cookies.txt"
POP3="node $HERE/tools/pop3-dialog.mjs"
PASS=0; FAIL=0

cleanup() {
  [ -f "$DC2_STATE" ] && "$HERE/stop-dovecot.sh" "$DC2_STATE" --clean >/dev/null 2>&1
  [ -f "$DC_STATE" ] && "$HERE/stop-dovecot.sh" "$DC_STATE" --clean >/dev/null 2>&1
  [ -f "$OAUTH_STATE" ] && "$HERE/stop-oauth.sh" "$OAUTH_STATE" >/dev/null 2>&1
  if [ "${KEEP:-}" != 1 ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

T0=$SECONDS
ok()   { PASS=$((PASS+1)); echo "PASS: $* [$((SECONDS-T0))s]"; }
bad()  { FAIL=$((FAIL+1)); echo "FAIL: $*"; }
check() { local desc="$1"; shift; if "$@"; then ok "$desc"; else bad "$desc"; fi; }
jget() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(v===undefined?"":typeof v==="object"?JSON.stringify(v):v)})' "$1"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
export -f jget
xoauth2() { printf 'user=%s\001auth=Bearer %s\001\001' "$1" "$2" | base64 -w0; }
oauthbearer() { printf 'n,a=%s,\001host=127.0.0.1\001port=%s\001auth=Bearer %s\001\001' "$1" "$3" "$2" | base64 -w0; }
# form action of the first <form> (relative to the issuer)
form_action() { sed -n 's/.*<form[^>]*action="\([^"]*\)".*/\1/p' | head -1; }
location() { curl -s -o /dev/null -w '%{redirect_url}' -c "$JAR" -b "$JAR" "$@"; }

# ------------------------------------------------------------------ start
"$HERE/start-oauth.sh" --state-file "$OAUTH_STATE" --log "$WORK/oauth.log" >/dev/null || { echo "cannot start oauth server"; exit 1; }
ISSUER="$(jget issuer < "$OAUTH_STATE")"
echo "oauth server: $ISSUER"
"$HERE/start-dovecot.sh" --oauth-state "$OAUTH_STATE" --state-file "$DC_STATE" >"$WORK/dc.out" 2>&1 || { cat "$WORK/dc.out"; echo "cannot start dovecot"; exit 1; }
POP3_PORT="$(jget pop3Port < "$DC_STATE")"; POP3S_PORT="$(jget pop3sPort < "$DC_STATE")"
CA="$(jget caCert < "$DC_STATE")"; MAILROOT="$(jget maildirRoot < "$DC_STATE")"; DCLOG="$(jget logPath < "$DC_STATE")"
echo "dovecot $(jget version < "$DC_STATE"): pop3 $POP3_PORT, pop3s $POP3S_PORT, CA $CA"

# seed one message for alice
printf 'From: sender@example.test\r\nTo: alice@example.test\r\nSubject: smoke\r\n\r\nHello from the smoke test.\r\n' \
  > "$MAILROOT/alice@example.test/Maildir/new/1700000000.M1P1.smoke"

# ------------------------------------------------------------------ OAuth server
DISC="$(curl -sf "$ISSUER/.well-known/openid-configuration")"
check "discovery lists device/introspection/revocation endpoints" \
  bash -c 'grep -q device_authorization_endpoint <<<"$1" && grep -q introspection_endpoint <<<"$1" && grep -q revocation_endpoint <<<"$1"' _ "$DISC"

# auth code + PKCE through the real forms (ftgate-native, loopback redirect with an arbitrary port)
VERIFIER="$(openssl rand -base64 48 | tr -d '=+/\n' | cut -c1-64)"
CHALLENGE="$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)"
REDIRECT="http://127.0.0.1:49152/callback"
AUTHURL="$ISSUER/auth?client_id=ftgate-native&response_type=code&redirect_uri=$REDIRECT&scope=openid%20email%20mail%20offline_access&state=st123&code_challenge=$CHALLENGE&code_challenge_method=S256&login_hint=alice%40example.test"
U1="$(location "$AUTHURL")"
LOGIN_HTML="$(curl -s -c "$JAR" -b "$JAR" "$U1")"
check "login page has #login (pre-filled from login_hint), #password, #submit" \
  bash -c 'grep -q "id=\"login\" name=\"login\" value=\"alice@example.test\"" <<<"$1" && grep -q "id=\"password\"" <<<"$1" && grep -q "id=\"submit\"" <<<"$1"' _ "$LOGIN_HTML"
ACTION="$(form_action <<<"$LOGIN_HTML")"
WRONG_HTML="$(curl -s -c "$JAR" -b "$JAR" --data-urlencode login=alice@example.test --data-urlencode password=wrong "$ISSUER$ACTION")"
check "wrong password re-shows the form with #error" bash -c 'grep -q "id=\"error\"" <<<"$1" && grep -q "id=\"password\"" <<<"$1"' _ "$WRONG_HTML"
U2="$(location --data-urlencode login=alice@example.test --data-urlencode password=alice-password "$ISSUER$ACTION")"
U3="$(location "$U2")"
CONSENT_HTML="$(curl -s -c "$JAR" -b "$JAR" "$U3")"
check "consent page has #allow and #deny" bash -c 'grep -q "id=\"allow\"" <<<"$1" && grep -q "id=\"deny\"" <<<"$1"' _ "$CONSENT_HTML"
ACTION="$(form_action <<<"$CONSENT_HTML")"
U4="$(location -d decision=allow "$ISSUER$ACTION")"
CB="$(location "$U4")"
CODE="$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$CB")"
check "redirect to loopback callback with code, state and iss" bash -c '[[ "$1" == http://127.0.0.1:49152/callback\?code=*state=st123*iss=* ]]' _ "$CB"
TOK="$(curl -s -d grant_type=authorization_code -d client_id=ftgate-native -d "code=$CODE" -d "code_verifier=$VERIFIER" -d "redirect_uri=$REDIRECT" "$ISSUER/token")"
AT="$(jget access_token <<<"$TOK")"; RT="$(jget refresh_token <<<"$TOK")"
check "code exchange gives an opaque access token and a refresh token" bash -c '[ -n "$1" ] && [ -n "$2" ] && [[ "$1" != eyJ* ]]' _ "$AT" "$RT"
INTRO="$(curl -s -u dovecot:dovecot-secret -d "token=$AT" "$ISSUER/token/introspection")"
check "introspection: active, username=alice@example.test, scope mail" \
  bash -c '[ "$(jget active <<<"$1")" = true ] && [ "$(jget username <<<"$1")" = alice@example.test ] && [ "$(jget scope <<<"$1")" = mail ]' _ "$INTRO"

# refresh rotation
TOK2="$(curl -s -d grant_type=refresh_token -d client_id=ftgate-native -d "refresh_token=$RT" "$ISSUER/token")"
AT2="$(jget access_token <<<"$TOK2")"; RT2="$(jget refresh_token <<<"$TOK2")"
check "refresh gives a new (rotated) refresh token" bash -c '[ -n "$1" ] && [ "$1" != "$2" ]' _ "$RT2" "$RT"

# deny path
rm -f "$JAR"
U1="$(location "${AUTHURL/state=st123/state=st-deny}")"
ACTION="$(curl -s -c "$JAR" -b "$JAR" "$U1" | form_action)"
U3="$(location "$(location --data-urlencode login=alice@example.test --data-urlencode password=alice-password "$ISSUER$ACTION")")"
DENY_ACTION="$(curl -s -c "$JAR" -b "$JAR" "$U3" | sed -n 's/.*id="deny"[^>]*formaction="\([^"]*\)".*/\1/p')"
DCB="$(location "$(location -d decision=deny "$ISSUER$DENY_ACTION")")"
check "Deny returns error=access_denied to the client" bash -c '[[ "$1" == *error=access_denied* ]]' _ "$DCB"

# client credentials (basic and post) and wrong secret
CC="$(curl -s -u ftgate-web:ftgate-web-secret -d grant_type=client_credentials -d scope=mail "$ISSUER/token")"
CCAT="$(jget access_token <<<"$CC")"
CCPOST="$(curl -s -d client_id=ftgate-web-post -d client_secret=ftgate-web-secret -d grant_type=client_credentials -d scope=mail "$ISSUER/token")"
check "client_credentials with client_secret_basic and client_secret_post" bash -c '[ -n "$1" ] && [ -n "$(jget access_token <<<"$2")" ]' _ "$CCAT" "$CCPOST"
BADC="$(curl -s -u ftgate-web:nope -d grant_type=client_credentials -d scope=mail "$ISSUER/token")"
check "wrong client secret -> invalid_client" bash -c '[ "$(jget error <<<"$1")" = invalid_client ]' _ "$BADC"

# device flow for bob (ftgate-native), driven over HTTP
rm -f "$JAR"
DEV="$(curl -s -d client_id=ftgate-native -d 'scope=openid mail offline_access' "$ISSUER/device/auth")"
UC="$(jget user_code <<<"$DEV")"; DEVC="$(jget device_code <<<"$DEV")"
PEND="$(curl -s -d client_id=ftgate-native -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d "device_code=$DEVC" "$ISSUER/token")"
IN_HTML="$(curl -s -c "$JAR" -b "$JAR" "$ISSUER/device")"
XSRF="$(sed -n 's/.*name="xsrf" value="\([^"]*\)".*/\1/p' <<<"$IN_HTML" | head -1)"
CONF_HTML="$(curl -s -c "$JAR" -b "$JAR" -d "xsrf=$XSRF" -d "user_code=$UC" "$ISSUER/device")"
D1="$(location -d "xsrf=$XSRF" -d "user_code=$UC" -d confirm=yes "$ISSUER/device")"
ACTION="$(curl -s -c "$JAR" -b "$JAR" "$D1" | form_action)"
D3="$(location "$(location --data-urlencode login=bob@example.test --data-urlencode password=bob-password "$ISSUER$ACTION")")"
ACTION="$(curl -s -c "$JAR" -b "$JAR" "$D3" | form_action)"
D4="$(location -d decision=allow "$ISSUER$ACTION")"
DONE_HTML="$(curl -s -c "$JAR" -b "$JAR" "$D4")"
DTOK="$(curl -s -d client_id=ftgate-native -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d "device_code=$DEVC" "$ISSUER/token")"
BOBAT="$(jget access_token <<<"$DTOK")"
check "device flow: pending, #confirm page, success page, tokens for bob" \
  bash -c '[ "$(jget error <<<"$1")" = authorization_pending ] && grep -q "id=\"confirm\"" <<<"$2" && grep -q "device-success" <<<"$3" && [ -n "$4" ] && [ -n "$(jget refresh_token <<<"$5")" ]' _ "$PEND" "$CONF_HTML" "$DONE_HTML" "$BOBAT" "$DTOK"

# ------------------------------------------------------------------ POP3 / Dovecot
pop3s() { $POP3 --port "$POP3S_PORT" --tls --ca "$CA" -- "$@"; }
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 alice@example.test "$AT2")" STAT QUIT)"; echo "$T" | sed 's/^/    /'
check "POP3S XOAUTH2 two-step with auth-code token: '+ ' then +OK Logged in., STAT 1 message" \
  bash -c 'grep -qx "S: + " <<<"$1" && grep -qx "S: +OK Logged in." <<<"$1" && grep -q "^S: +OK 1 " <<<"$1" && grep -q "authorized=true" <<<"$1"' _ "$T"
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 alice@example.test "$CCAT")" STAT QUIT)"
check "POP3S XOAUTH2 with client-credentials token (mailbox alice)" bash -c 'grep -qx "S: +OK Logged in." <<<"$1"' _ "$T"
T="$(pop3s "AUTH XOAUTH2 $(xoauth2 bob@example.test "$BOBAT")" QUIT)"
check "POP3S XOAUTH2 with initial response, device-flow token for bob" bash -c 'grep -qx "S: +OK Logged in." <<<"$1"' _ "$T"
T="$(pop3s "AUTH OAUTHBEARER $(oauthbearer alice@example.test "$AT2" "$POP3S_PORT")" QUIT)"
check "POP3S OAUTHBEARER success" bash -c 'grep -qx "S: +OK Logged in." <<<"$1"' _ "$T"
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 alice@example.test bogus-token)" "" QUIT)"; echo "$T" | sed 's/^/    /'
check "bogus token: + eyJ... challenge then -ERR [AUTH] Authentication failed." \
  bash -c 'grep -qx "S: + eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=" <<<"$1" && grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"
T="$(pop3s "AUTH OAUTHBEARER $(oauthbearer alice@example.test bogus "$POP3S_PORT")" "AQ==" QUIT)"; echo "$T" | sed 's/^/    /'
check "OAUTHBEARER bogus: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0= then -ERR [AUTH]" \
  bash -c 'grep -qx "S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=" <<<"$1" && grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 alice@example.test "$BOBAT")" "" QUIT)"
check "bob's token presented for alice is rejected" bash -c 'grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"
T="$($POP3 --port "$POP3_PORT" --stls --ca "$CA" -- CAPA "USER carol@example.test" "PASS carol-password" STAT QUIT)"
check "plain port: STLS, then USER/PASS for carol" bash -c 'grep -qx "S: +OK Begin TLS negotiation now." <<<"$1" && grep -qx "S: +OK Logged in." <<<"$1"' _ "$T"
T="$($POP3 --port "$POP3_PORT" --plain -- CAPA QUIT)"
check "plain port CAPA offers STLS and SASL XOAUTH2 OAUTHBEARER" bash -c 'grep -qx "S: STLS" <<<"$1" && grep -q "S: SASL .*XOAUTH2 OAUTHBEARER" <<<"$1"' _ "$T"
T="$(pop3s "USER alice@example.test" "PASS wrong" QUIT)"; echo "$T" | sed 's/^/    /'
check "wrong password: -ERR [AUTH] Authentication failed." bash -c 'grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"

# refresh-token re-use: invalid_grant, and the whole grant (with its access tokens) is revoked
REUSE="$(curl -s -d grant_type=refresh_token -d client_id=ftgate-native -d "refresh_token=$RT" "$ISSUER/token")"
check "re-used refresh token -> invalid_grant" bash -c '[ "$(jget error <<<"$1")" = invalid_grant ]' _ "$REUSE"
STATS="$(curl -s "$ISSUER/_test/stats")"
check "/_test/stats counts 2 refresh_token requests (1 invalid_grant)" \
  bash -c '[ "$(jget token <<<"$1" | jget refresh_token)" = 2 ] && [ "$(jget tokenErrors <<<"$1" | jget refresh_token | jget invalid_grant)" = 1 ]' _ "$STATS"
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 alice@example.test "$AT2")" "" QUIT)"
check "after refresh-token re-use the grant's access token is rejected" bash -c 'grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"

# revocation / expiry act at the next login (auth_cache_size = 0)
curl -s -X POST "$ISSUER/_test/revoke-user?user=alice@example.test" >/dev/null
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 alice@example.test "$CCAT")" "" QUIT)"
check "after /_test/revoke-user the client-credentials token for alice is rejected" bash -c 'grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"
curl -s -X POST "$ISSUER/_test/expire-access-tokens?user=bob@example.test" >/dev/null
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 bob@example.test "$BOBAT")" "" QUIT)"
check "after /_test/expire-access-tokens bob's token is rejected" bash -c 'grep -qx "S: -ERR \[AUTH\] Authentication failed." <<<"$1"' _ "$T"

# a second instance at the same time
if "$HERE/start-dovecot.sh" --oauth-state "$OAUTH_STATE" --state-file "$DC2_STATE" >"$WORK/dc2.out" 2>&1; then
  P2="$(jget pop3sPort < "$DC2_STATE")"; CA2="$(jget caCert < "$DC2_STATE")"
  T="$($POP3 --port "$P2" --tls --ca "$CA2" -- "USER carol@example.test" "PASS carol-password" QUIT)"
  T1="$(pop3s "USER carol@example.test" "PASS carol-password" QUIT)"
  check "two Dovecot instances run side by side" bash -c 'grep -qx "S: +OK Logged in." <<<"$1" && grep -qx "S: +OK Logged in." <<<"$2"' _ "$T" "$T1"
  "$HERE/stop-dovecot.sh" "$DC2_STATE" --clean >/dev/null; rm -f "$DC2_STATE"
else
  cat "$WORK/dc2.out"; bad "second Dovecot instance"
fi

# OAuth server down -> temporary failure
SVC="$(curl -s -u ftgate-service-bob:ftgate-service-secret -d grant_type=client_credentials -d scope=mail "$ISSUER/token" | jget access_token)"
"$HERE/stop-oauth.sh" "$OAUTH_STATE" >/dev/null
T="$(pop3s "AUTH XOAUTH2" "$(xoauth2 bob@example.test "$SVC")" QUIT)"; echo "$T" | sed 's/^/    /'
check "OAuth server down: -ERR [SYS/TEMP] Temporary authentication failure." bash -c 'grep -q "^S: -ERR \[SYS/TEMP\] Temporary authentication failure." <<<"$1"' _ "$T"

echo "--- dovecot log (auth lines) ---"
grep -E 'oauth2|passwd-file|Login:' "$DCLOG" | tail -12 | sed 's/^/    /'
echo "smoke: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
