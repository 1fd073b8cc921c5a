/**
 * The bash program the `acmesh` provider runs: a stand-in for the parts of acme.sh that its
 * `dnsapi/dns_<name>.sh` scripts call, then the script's `dns_<name>_add` or `dns_<name>_rm`.
 *
 * It runs as `bash --noprofile --norc -c ACMESH_SHIM certkeeper-acmesh add|rm` with, in its
 * environment: CERTKEEPER_DNSAPI (`dns_<name>`, checked against ^dns_[a-z0-9_]+$ before),
 * CERTKEEPER_DNSAPI_SCRIPT (its path), CERTKEEPER_FQDN, CERTKEEPER_VALUE, and the zone's
 * credentials. Nothing secret is on any command line: the record and credentials come through
 * the environment, and `_get`/`_post` hand curl their headers and body through 0600 temp files.
 *
 * Semantics follow acme.sh 3.x where a script can tell: `_err` writes to stderr and returns 1,
 * `_post` prints the body and sets `response` and `_ret`, headers are dumped to $HTTP_HEADER,
 * `_H1`…`_H5` are extra request headers. Differences: the conf helpers read the environment (the
 * zone's credentials) and saving is a no-op; `_debug*` print nothing (debug lines of dnsapi
 * scripts often carry tokens); HTTP is curl only (no wget fallback).
 *
 * Kept as a string (not a .sh file) so the build, which copies only compiled TypeScript, ships it.
 * In the template literal below `\${` is bash's `${` and `\\` is one backslash.
 */
export const ACMESH_SHIM = `
USER_AGENT="certkeeper (acme.sh dnsapi bridge)"
_CK_TMP="$(mktemp -d)" || exit 1
trap 'rm -rf "$_CK_TMP"' EXIT
HTTP_HEADER="$_CK_TMP/http-header"
: >"$HTTP_HEADER"

# --- messages -------------------------------------------------------------------------------
_ck_say() {
  if [ -z "$2" ]; then printf '%s\\n' "$1"; else printf "%s='%s'\\n" "$1" "$2"; fi
}
_info() { _ck_st=$?; _ck_say "$@"; return $_ck_st; }
_err() { _ck_say "$@" >&2; return 1; }
_usage() { _ck_say "$@" >&2; }
_debug() { :; }
_debug2() { :; }
_debug3() { :; }
_secure_debug() { :; }
_secure_debug2() { :; }
_secure_debug3() { :; }

# --- configuration: read from the environment (the zone's credentials), never saved ---------
_ck_var() {
  case "$1" in '' | [0-9]* | *[!A-Za-z0-9_]*) return 1 ;; esac
  printf '%s' "\${!1-}"
}
_readaccountconf() { _ck_var "$1"; }
_readaccountconf_mutable() { _ck_var "$1"; }
_readdomainconf() { _ck_var "$1"; }
_readaccountconf_mutable_default() {
  _ck_v="$(_ck_var "$1")"
  printf '%s' "\${_ck_v:-$2}"
}
_getdeployconf() { :; }
_saveaccountconf() { :; }
_saveaccountconf_mutable() { :; }
_saveaccountconf_mutable_default() { :; }
_savedomainconf() { :; }
_savedeployconf() { :; }
_clearaccountconf() { :; }
_clearaccountconf_mutable() { :; }
_cleardomainconf() { :; }

# --- text and arithmetic ---------------------------------------------------------------------
_contains() { echo "$1" | grep -- "$2" >/dev/null 2>&1; }
_startswith() { echo "$1" | grep -- "^$2" >/dev/null 2>&1; }
_endswith() { echo "$1" | grep -- "$2\\$" >/dev/null 2>&1; }
_egrep_o() { grep -E -o -- "$1" 2>/dev/null; }
_math() { _m_opts="$*"; printf '%s' "$(($_m_opts))"; }
_sleep() { sleep "$1"; }
_head_n() { head -n "$1"; }
_tail_n() { tail -n "$1"; }
_lower_case() { LANG=C tr '[:upper:]' '[:lower:]'; }
_upper_case() { LANG=C tr '[:lower:]' '[:upper:]'; }
_exists() { [ -n "$1" ] && command -v "$1" >/dev/null 2>&1; }
_normalizeJson() { sed 's/" *: *\\(["{[]\\)/":\\1/g' | sed 's/^ *\\([^ ]\\)/\\1/' | tr -d '\\r\\n'; }
_time() { date -u +%s; }
_utc_date() { date -u '+%Y-%m-%d %H:%M:%S'; }
_mktemp() { mktemp "$_CK_TMP/tmp.XXXXXX"; }
_sed_i() { sed -i "$1" "$2"; }
_base64() { if [ "$1" ]; then base64; else base64 | tr -d '\\r\\n'; fi; }
_dbase64() { base64 -d; }
_hex_dump() { od -A n -v -t x1 | tr -s ' ' | sed 's/ $//' | tr -d '\\r\\t\\n'; }
_url_encode() {
  local LC_ALL=C _ck_in _ck_i _ck_c _ck_fmt='%%%02x'
  [ "$1" ] && _ck_fmt='%%%02X'
  _ck_in="$(cat)"
  for ((_ck_i = 0; _ck_i < \${#_ck_in}; _ck_i++)); do
    _ck_c="\${_ck_in:_ck_i:1}"
    case "$_ck_c" in
    [a-zA-Z0-9.~_-]) printf '%s' "$_ck_c" ;;
    *) printf "$_ck_fmt" "'$_ck_c" ;;
    esac
  done
}
# _digest sha256|sha1|md5 [hex]: stdin to base64 (or hex) digest.
_digest() {
  case "$1" in sha256 | sha1 | md5) ;; *) _err "_digest: $1 is not supported"; return 1 ;; esac
  if [ "$2" ]; then openssl dgst -"$1" -hex | cut -d = -f 2 | tr -d ' '; else openssl dgst -"$1" -binary | _base64; fi
}
# _hmac sha256|sha1 <hex key> [hex]: as acme.sh, the key is an openssl argument.
_hmac() {
  case "$1" in sha256 | sha1) ;; *) _err "_hmac: $1 is not supported"; return 1 ;; esac
  if [ "$3" ]; then openssl dgst -"$1" -mac HMAC -macopt "hexkey:$2" -hex | cut -d = -f 2 | tr -d ' '
  else openssl dgst -"$1" -mac HMAC -macopt "hexkey:$2" -binary | _base64; fi
}

# --- HTTP through curl ---------------------------------------------------------------------
# _H1…_H5 go to a 0600 file (curl -H @file), so tokens in headers stay off the command line.
_ck_curl_args() {
  _ck_a=(--silent -L -g --dump-header "$HTTP_HEADER" --user-agent "$USER_AGENT")
  [ "$HTTPS_INSECURE" ] && _ck_a+=(--insecure)
  : >"$_CK_TMP/headers"
  for _ck_h in "$_H1" "$_H2" "$_H3" "$_H4" "$_H5"; do
    [ -n "$_ck_h" ] && printf '%s\\n' "$_ck_h" >>"$_CK_TMP/headers"
  done
  _ck_a+=(-H "@$_CK_TMP/headers")
}
# _get url [onlyheader] [timeout]: prints the body (or the headers); returns curl's exit code.
_get() {
  _ck_curl_args
  [ "$3" ] && _ck_a+=(--connect-timeout "$3")
  [ "$2" ] && _ck_a+=(-I)
  curl "\${_ck_a[@]}" -- "$1"
  ret=$?
  [ "$ret" = 0 ] || _err "_get: curl failed with error code $ret (https://curl.se/libcurl/c/libcurl-errors.html)"
  return $ret
}
# _post body url [needbase64] [POST|PUT|DELETE|PATCH|HEAD] [content type]: prints the response.
_post() {
  body="$1"
  _post_url="$2"
  needbase64="$3"
  httpmethod="\${4:-POST}"
  _postContentType="$5"
  _ck_curl_args
  _ck_a+=(-X "$httpmethod")
  [ "$httpmethod" = HEAD ] && _ck_a+=(-I)
  [ "$_postContentType" ] && _ck_a+=(-H "Content-Type: $_postContentType")
  if [ "$body" ]; then
    printf '%s' "$body" >"$_CK_TMP/body"
    _ck_a+=(--data-binary "@$_CK_TMP/body")
  fi
  if [ "$needbase64" ]; then
    response="$(curl "\${_ck_a[@]}" -- "$_post_url" | _base64)"
  else
    response="$(curl "\${_ck_a[@]}" -- "$_post_url")"
  fi
  _ret=$?
  [ "$_ret" = 0 ] || _err "_post: curl failed with error code $_ret (https://curl.se/libcurl/c/libcurl-errors.html)"
  printf '%s' "$response"
  return $_ret
}

# --- run the dnsapi script -------------------------------------------------------------------
case "$1" in add | rm) ;; *) _err "certkeeper-acmesh: unknown verb '$1'"; exit 2 ;; esac
_ck_fn="\${CERTKEEPER_DNSAPI}_$1"
# shellcheck source=/dev/null
if ! . "$CERTKEEPER_DNSAPI_SCRIPT"; then
  _err "loading $CERTKEEPER_DNSAPI_SCRIPT failed"
  exit 1
fi
if ! declare -F "$_ck_fn" >/dev/null; then
  _err "$CERTKEEPER_DNSAPI_SCRIPT defines no function $_ck_fn"
  exit 2
fi
"$_ck_fn" "$CERTKEEPER_FQDN" "$CERTKEEPER_VALUE"
`;
