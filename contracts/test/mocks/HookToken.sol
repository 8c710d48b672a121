// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice The hooks an account can register with `HookToken`, as with ERC-777's ERC-1820 hooks.
interface ITokenHooks {
    /// @notice Called before tokens leave `from`.
    function tokensToSend(address from, address to, uint256 amount) external;

    /// @notice Called after tokens reach `to`.
    function tokensReceived(address from, address to, uint256 amount) external;
}

/// @notice An ERC-777-style ERC-20: an account may register a hook contract that is called
///         before tokens leave it and after tokens reach it, which lets a test re-enter whatever
///         contract moved the tokens. Hooks' reverts bubble up, like ERC-777's.
contract HookToken is ERC20 {
    /// @notice The hook registered by each account.
    mapping(address account => ITokenHooks) public hookOf;

    constructor() ERC20("Hook Token", "HOOK") {}

    /// @notice Mints to anyone (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Registers `hook` for the caller (zero to remove).
    function setHook(ITokenHooks hook) external {
        hookOf[msg.sender] = hook;
    }

    /// @dev Calls the sender's hook, moves the tokens, then calls the recipient's hook.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && address(hookOf[from]) != address(0)) {
            hookOf[from].tokensToSend(from, to, value);
        }
        super._update(from, to, value);
        if (to != address(0) && address(hookOf[to]) != address(0)) {
            hookOf[to].tokensReceived(from, to, value);
        }
    }
}
