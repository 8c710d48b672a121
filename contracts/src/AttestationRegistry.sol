// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AttestationRegistry
/// @notice A permissionless registry where issuers vouch that an account belongs to an identity.
///         Anyone can be an issuer; what an attestation is worth is decided by whoever reads it: a
///         quadratic-funding round names the issuers it trusts. An issuer can be a proof-of-personhood
///         service, a KYC provider, a DAO's membership list, or a round operator keeping an
///         allow-list (attesting each allowed account under its own identity).
///
///         Each attestation binds an account to an identity id (`uid`) chosen by the issuer. Several
///         accounts attested under the same uid by the same issuer are one identity: a quadratic
///         funding round counts them as one donor, so a person's several wallets cannot multiply
///         their weight. An issuer should therefore give one uid per person, however many accounts
///         that person has.
/// @dev An issuer holds at most one attestation per account; attesting again replaces it.
contract AttestationRegistry {
    // ---------------------------------------------------------------- errors

    /// @notice The account attested is the zero address.
    error ZeroSubject();

    /// @notice The identity id is zero (zero means "not attested" to readers).
    error ZeroUid();

    /// @notice The expiry is not in the future.
    /// @param expiresAt The expiry asked for.
    /// @param now The current block timestamp.
    error ExpiryNotInFuture(uint64 expiresAt, uint64 now);

    /// @notice The issuer holds no attestation for this account.
    /// @param issuer The issuer.
    /// @param subject The account.
    error NotAttested(address issuer, address subject);

    /// @notice The subjects and uids arrays differ in length.
    /// @param subjects The number of subjects.
    /// @param uids The number of uids.
    error LengthMismatch(uint256 subjects, uint256 uids);

    // ---------------------------------------------------------------- events

    /// @notice An issuer attested that `subject` belongs to identity `uid`.
    /// @param issuer The issuer.
    /// @param subject The account.
    /// @param uid The identity id, chosen by the issuer.
    /// @param expiresAt When the attestation stops counting (0: never).
    event Attested(address indexed issuer, address indexed subject, bytes32 indexed uid, uint64 expiresAt);

    /// @notice An issuer revoked its attestation of `subject`.
    /// @param issuer The issuer.
    /// @param subject The account.
    /// @param uid The identity id the attestation carried.
    event Revoked(address indexed issuer, address indexed subject, bytes32 indexed uid);

    // ---------------------------------------------------------------- storage

    /// @notice An attestation as stored.
    /// @param uid The identity id (zero when there is none).
    /// @param expiresAt When it stops counting (0: never). It counts while `block.timestamp < expiresAt`.
    struct Attestation {
        bytes32 uid;
        uint64 expiresAt;
    }

    /// @dev Attestations by issuer, then account.
    mapping(address issuer => mapping(address subject => Attestation)) private _attestations;

    // ---------------------------------------------------------------- external

    /// @notice Attests, as the caller, that `subject` belongs to identity `uid`; replaces any
    ///         earlier attestation of `subject` by the caller.
    /// @param subject The account; must not be zero.
    /// @param uid The identity id; must not be zero.
    /// @param expiresAt When it stops counting; 0 for never, otherwise in the future.
    function attest(address subject, bytes32 uid, uint64 expiresAt) external {
        _attest(subject, uid, expiresAt);
    }

    /// @notice Attests many accounts at once, all with the same expiry (an allow-list in one call).
    /// @param subjects The accounts.
    /// @param uids Their identity ids, in the same order.
    /// @param expiresAt When they stop counting; 0 for never, otherwise in the future.
    function attestBatch(address[] calldata subjects, bytes32[] calldata uids, uint64 expiresAt) external {
        if (subjects.length != uids.length) revert LengthMismatch(subjects.length, uids.length);
        for (uint256 i; i < subjects.length; ++i) {
            _attest(subjects[i], uids[i], expiresAt);
        }
    }

    /// @notice Revokes the caller's attestation of `subject`. Readers see it as absent from now on;
    ///         what it already counted for (a donation made while it held) is not undone.
    /// @param subject The account.
    function revoke(address subject) external {
        Attestation storage attestation = _attestations[msg.sender][subject];
        bytes32 uid = attestation.uid;
        if (uid == bytes32(0)) revert NotAttested(msg.sender, subject);
        delete _attestations[msg.sender][subject];
        emit Revoked(msg.sender, subject, uid);
    }

    /// @notice The identity `issuer` attests `subject` belongs to, or zero when it has no attestation
    ///         that counts now (none, revoked or expired).
    /// @param issuer The issuer.
    /// @param subject The account.
    /// @return The identity id, or zero.
    function uidOf(address issuer, address subject) external view returns (bytes32) {
        Attestation storage attestation = _attestations[issuer][subject];
        uint64 expiresAt = attestation.expiresAt;
        if (expiresAt != 0 && block.timestamp >= expiresAt) return bytes32(0);
        return attestation.uid;
    }

    /// @notice The stored attestation of `subject` by `issuer`, expired or not (all zero when none).
    /// @param issuer The issuer.
    /// @param subject The account.
    /// @return The attestation.
    function getAttestation(address issuer, address subject) external view returns (Attestation memory) {
        return _attestations[issuer][subject];
    }

    // ---------------------------------------------------------------- internal

    /// @dev Checks and stores one attestation by the caller.
    function _attest(address subject, bytes32 uid, uint64 expiresAt) internal {
        if (subject == address(0)) revert ZeroSubject();
        if (uid == bytes32(0)) revert ZeroUid();
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, uint64(block.timestamp));
        _attestations[msg.sender][subject] = Attestation({uid: uid, expiresAt: expiresAt});
        emit Attested(msg.sender, subject, uid, expiresAt);
    }
}
