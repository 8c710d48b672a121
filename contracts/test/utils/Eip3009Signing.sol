// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";

/// @title Eip3009Signing
/// @notice Builds and signs EIP-3009 authorizations the way x402 clients do (EIP-712, the token's
///         name and version "2", chain id, the token as verifying contract), computed here from
///         first principles so a test also checks the token's domain.
abstract contract Eip3009Signing is Test {
    /// @notice One authorization's parameters.
    struct Authorization {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
    }

    /// @notice A signature split as `transferWithAuthorization` takes it.
    struct Signature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    bytes32 internal constant TRANSFER_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant RECEIVE_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );

    /// @notice The EIP-712 digest of an authorization of `typehash` on `token` named `name`.
    function _authorizationDigest(address token, string memory name, bytes32 typehash, Authorization memory a)
        internal
        view
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256("2"),
                block.chainid,
                token
            )
        );
        bytes32 structHash =
            keccak256(abi.encode(typehash, a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @notice Signs an authorization with `key`.
    function _signAuthorization(uint256 key, address token, string memory name, bytes32 typehash, Authorization memory a)
        internal
        view
        returns (Signature memory sig)
    {
        (sig.v, sig.r, sig.s) = vm.sign(key, _authorizationDigest(token, name, typehash, a));
    }
}
