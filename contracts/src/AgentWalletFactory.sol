// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {AgentWallet} from "./AgentWallet.sol";

/// @title AgentWalletFactory
/// @notice Creates agent wallets: EIP-1167 clones of one `AgentWallet` implementation, each
///         initialized with its owner, agent key and policy in the transaction that creates it, so
///         no one can initialize a wallet before its creator does.
/// @dev Addresses are deterministic per (creator, salt): `predictWallet(creator, salt)`. The salt is
///      bound to the caller, so no one can take an address someone else has predicted and funded.
contract AgentWalletFactory {
    // ---------------------------------------------------------------- errors

    /// @notice The owner is the zero address.
    error ZeroOwner();

    // ---------------------------------------------------------------- events

    /// @notice A wallet was created.
    /// @param wallet The new wallet.
    /// @param owner Its owner.
    /// @param agent Its agent key.
    /// @param creator Who created it.
    /// @param salt The creator's salt.
    event WalletCreated(
        address indexed wallet, address indexed owner, address indexed agent, address creator, bytes32 salt
    );

    // ---------------------------------------------------------------- storage

    /// @notice The implementation every wallet is a clone of.
    AgentWallet public immutable implementation;

    /// @notice Whether an address is a wallet this factory created.
    mapping(address wallet => bool) public isWallet;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the factory and its wallet implementation.
    constructor() {
        implementation = new AgentWallet();
    }

    // ---------------------------------------------------------------- external

    /// @notice Creates and initializes a wallet.
    /// @param config The owner (not zero), agent key, budgets, allowed calls and signature verifiers.
    /// @param salt Any value; the wallet's address is `predictWallet(msg.sender, salt)`.
    /// @return wallet The new wallet.
    function createWallet(AgentWallet.Config calldata config, bytes32 salt) external returns (AgentWallet wallet) {
        if (config.owner == address(0)) revert ZeroOwner();
        wallet = AgentWallet(payable(Clones.cloneDeterministic(address(implementation), _salt(msg.sender, salt))));
        wallet.initialize(config);
        isWallet[address(wallet)] = true;
        emit WalletCreated(address(wallet), config.owner, config.agent, msg.sender, salt);
    }

    /// @notice The address `createWallet` gives `creator` for `salt`.
    /// @param creator The account that will call `createWallet`.
    /// @param salt The salt.
    /// @return The wallet's address.
    function predictWallet(address creator, bytes32 salt) external view returns (address) {
        return Clones.predictDeterministicAddress(address(implementation), _salt(creator, salt));
    }

    // ---------------------------------------------------------------- internal

    /// @dev The CREATE2 salt: the creator's salt bound to the creator.
    function _salt(address creator, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(creator, salt));
    }
}
