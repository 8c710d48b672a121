// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title AgentRegistry
/// @notice Agent identities, compatible with the ERC-8004 (Trustless Agents) identity registry: each
///         agent is an ERC-721 token (its `agentId`) owned by whoever controls the agent, with a
///         registration URI (`tokenURI`, the agent's JSON registration file), free-form metadata,
///         and a verified wallet: the reserved metadata key `agentWallet`, which starts as the owner's
///         address, changes only with a signature from the new wallet (ECDSA for an account,
///         ERC-1271 for a contract such as an `AgentWallet`), and is cleared when the token changes
///         hands so a new owner must verify it again.
/// @dev Agent ids count from 1. The wallet-binding message is ERC-8004's EIP-712
///      `AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)` in the
///      domain ("ERC8004IdentityRegistry", "1", this chain, this contract).
contract AgentRegistry is ERC721URIStorage, EIP712 {
    // ---------------------------------------------------------------- errors

    /// @notice Only the agent's owner or an operator it approved may do this.
    /// @param agentId The agent.
    /// @param caller The account that tried.
    error NotAgentOwner(uint256 agentId, address caller);

    /// @notice `agentWallet` is reserved: it is set only through `setAgentWallet`.
    /// @param metadataKey The key given.
    error ReservedMetadataKey(string metadataKey);

    /// @notice The wallet is the zero address (use `unsetAgentWallet`).
    error ZeroWallet();

    /// @notice The signature's deadline has passed.
    /// @param deadline The deadline.
    /// @param now The current block timestamp.
    error SignatureExpired(uint256 deadline, uint256 now);

    /// @notice The deadline is further away than `MAX_DEADLINE_DELAY`.
    /// @param deadline The deadline.
    /// @param maximum The latest deadline accepted now.
    error DeadlineTooFar(uint256 deadline, uint256 maximum);

    /// @notice The signature is not the new wallet's (ECDSA, or its ERC-1271 answer).
    /// @param wallet The wallet.
    error InvalidWalletSignature(address wallet);

    // ---------------------------------------------------------------- events

    /// @notice An agent was registered and its token minted to its owner.
    /// @param agentId The agent.
    /// @param agentURI Its registration URI.
    /// @param owner Its owner.
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);

    /// @notice An agent's registration URI changed.
    /// @param agentId The agent.
    /// @param newURI The new URI.
    /// @param updatedBy Who changed it.
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);

    /// @notice A metadata entry was set (including the reserved `agentWallet`).
    /// @param agentId The agent.
    /// @param indexedMetadataKey The key, indexed.
    /// @param metadataKey The key.
    /// @param metadataValue The value.
    event MetadataSet(
        uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue
    );

    // ---------------------------------------------------------------- storage

    /// @notice A metadata entry given at registration.
    /// @param metadataKey The key (not `agentWallet`).
    /// @param metadataValue The value.
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    /// @notice The EIP-712 type hash of the message a new wallet signs.
    bytes32 public constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");

    /// @notice How far in the future a wallet signature's deadline may be.
    uint256 public constant MAX_DEADLINE_DELAY = 5 minutes;

    /// @dev The reserved metadata key.
    string private constant AGENT_WALLET_KEY = "agentWallet";

    /// @dev Its hash.
    bytes32 private constant AGENT_WALLET_KEY_HASH = keccak256("agentWallet");

    /// @dev The last agent id issued.
    uint256 private _lastId;

    /// @dev Metadata by agent and key.
    mapping(uint256 agentId => mapping(string metadataKey => bytes)) private _metadata;

    /// @dev Verified wallets by agent.
    mapping(uint256 agentId => address) private _agentWallet;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys an empty registry.
    constructor() ERC721("Gotong Agent", "GAGENT") EIP712("ERC8004IdentityRegistry", "1") {}

    // ---------------------------------------------------------------- external

    /// @notice Registers an agent with no URI; its token is minted to the caller.
    /// @return agentId The new agent's id.
    function register() external returns (uint256 agentId) {
        agentId = _register("");
    }

    /// @notice Registers an agent; its token is minted to the caller.
    /// @param agentURI Its registration URI.
    /// @return agentId The new agent's id.
    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _register(agentURI);
    }

    /// @notice Registers an agent with metadata; its token is minted to the caller.
    /// @param agentURI Its registration URI.
    /// @param metadata Metadata entries (the key `agentWallet` is refused).
    /// @return agentId The new agent's id.
    function register(string calldata agentURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId) {
        agentId = _register(agentURI);
        for (uint256 i; i < metadata.length; ++i) {
            _setMetadata(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    /// @notice Changes an agent's registration URI.
    /// @param agentId The agent; the caller must own it or be approved.
    /// @param newURI The new URI.
    function setAgentURI(uint256 agentId, string calldata newURI) external {
        _checkAuthorized(agentId);
        _setTokenURI(agentId, newURI);
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    /// @notice Sets a metadata entry.
    /// @param agentId The agent; the caller must own it or be approved.
    /// @param metadataKey The key (not `agentWallet`).
    /// @param metadataValue The value.
    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external {
        _checkAuthorized(agentId);
        _setMetadata(agentId, metadataKey, metadataValue);
    }

    /// @notice Binds a wallet to an agent, with the wallet's signature of
    ///         `AgentWalletSet(agentId, newWallet, owner, deadline)`.
    /// @param agentId The agent; the caller must own it or be approved.
    /// @param newWallet The wallet; not zero.
    /// @param deadline The signature's deadline: not past, at most `MAX_DEADLINE_DELAY` ahead.
    /// @param signature The wallet's signature: ECDSA by its key, or accepted by its ERC-1271
    ///        `isValidSignature` (an `AgentWallet` accepts its agent key's and must list this
    ///        registry as a signature verifier).
    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        if (newWallet == address(0)) revert ZeroWallet();
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        if (deadline > block.timestamp + MAX_DEADLINE_DELAY) {
            revert DeadlineTooFar(deadline, block.timestamp + MAX_DEADLINE_DELAY);
        }
        address owner = _checkAuthorized(agentId);
        bytes32 digest = walletSetDigest(agentId, newWallet, owner, deadline);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        bool valid = (err == ECDSA.RecoverError.NoError && recovered == newWallet)
            || (newWallet.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(newWallet, digest, signature));
        if (!valid) revert InvalidWalletSignature(newWallet);
        _setWallet(agentId, newWallet);
    }

    /// @notice Clears an agent's wallet.
    /// @param agentId The agent; the caller must own it or be approved.
    function unsetAgentWallet(uint256 agentId) external {
        _checkAuthorized(agentId);
        _setWallet(agentId, address(0));
    }

    /// @notice An agent's verified wallet (zero when none).
    /// @param agentId The agent; reverts when it does not exist.
    /// @return wallet The wallet.
    function getAgentWallet(uint256 agentId) external view returns (address wallet) {
        _requireOwned(agentId);
        wallet = _agentWallet[agentId];
    }

    /// @notice A metadata entry (empty when unset).
    /// @param agentId The agent.
    /// @param metadataKey The key.
    /// @return The value.
    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        return _metadata[agentId][metadataKey];
    }

    /// @notice Whether `spender` owns `agentId` or is approved for it (ERC-8004's deployed registry has
    ///         it, and its reputation registry asks it who may not review an agent).
    /// @param spender The account.
    /// @param agentId The agent; reverts when it does not exist.
    /// @return Whether `spender` may act for the agent.
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool) {
        return _isAuthorized(_requireOwned(agentId), spender, agentId);
    }

    /// @notice Whether an agent id exists.
    /// @param agentId The agent.
    /// @return Whether it was registered.
    function exists(uint256 agentId) external view returns (bool) {
        return _ownerOf(agentId) != address(0);
    }

    /// @notice The number of agents registered, which is also the last id issued.
    /// @return The count.
    function agentCount() external view returns (uint256) {
        return _lastId;
    }

    // ---------------------------------------------------------------- public

    /// @notice The EIP-712 digest a wallet signs to be bound to `agentId`.
    /// @param agentId The agent.
    /// @param newWallet The wallet.
    /// @param owner The agent's owner.
    /// @param deadline The deadline.
    /// @return The digest.
    function walletSetDigest(uint256 agentId, address newWallet, address owner, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, owner, deadline)));
    }

    // ---------------------------------------------------------------- internal

    /// @dev Mints the next id to the caller, whose address is the initial wallet.
    function _register(string memory agentURI) internal returns (uint256 agentId) {
        agentId = ++_lastId;
        _mint(msg.sender, agentId);
        if (bytes(agentURI).length != 0) _setTokenURI(agentId, agentURI);
        _setWallet(agentId, msg.sender);
        emit Registered(agentId, agentURI, msg.sender);
    }

    /// @dev Refuses unless the caller owns `agentId` or is approved for it; returns the owner.
    function _checkAuthorized(uint256 agentId) internal view returns (address owner) {
        owner = _requireOwned(agentId);
        if (!_isAuthorized(owner, msg.sender, agentId)) revert NotAgentOwner(agentId, msg.sender);
    }

    /// @dev Sets a metadata entry other than the reserved one.
    function _setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) internal {
        if (keccak256(bytes(metadataKey)) == AGENT_WALLET_KEY_HASH) revert ReservedMetadataKey(metadataKey);
        _metadata[agentId][metadataKey] = metadataValue;
        emit MetadataSet(agentId, metadataKey, metadataKey, metadataValue);
    }

    /// @dev Sets the verified wallet and its mirror in the metadata.
    function _setWallet(uint256 agentId, address wallet) internal {
        _agentWallet[agentId] = wallet;
        bytes memory value = wallet == address(0) ? bytes("") : abi.encodePacked(wallet);
        _metadata[agentId][AGENT_WALLET_KEY] = value;
        emit MetadataSet(agentId, AGENT_WALLET_KEY, AGENT_WALLET_KEY, value);
    }

    /// @dev Clears the verified wallet when the token changes hands: the new owner verifies again.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0) && from != to) _setWallet(tokenId, address(0));
    }
}
