// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {AgentFixture} from "./utils/AgentFixture.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {AgentWallet} from "../src/AgentWallet.sol";

contract AgentRegistryTest is AgentFixture {
    AgentRegistry internal registry;
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        registry = new AgentRegistry();
        vm.prank(owner);
        wallet.setSignatureVerifier(address(registry), true);
        vm.prank(owner);
        agentId = registry.register("ipfs://agent.json");
    }

    /// @dev The agent key's signature binding `wallet_` to `agentId`, valid until `deadline`.
    function _walletSignature(uint256 key, address wallet_, uint256 deadline) internal view returns (bytes memory) {
        return signDigest(key, registry.walletSetDigest(agentId, wallet_, owner, deadline));
    }

    function test_register_mintsToTheCallerWithTheOwnerAsWallet() public {
        assertEq(agentId, 1);
        assertEq(registry.ownerOf(agentId), owner);
        assertEq(registry.tokenURI(agentId), "ipfs://agent.json");
        assertEq(registry.getAgentWallet(agentId), owner);
        assertEq(registry.getMetadata(agentId, "agentWallet"), abi.encodePacked(owner));
        assertEq(registry.agentCount(), 1);

        vm.expectEmit(address(registry));
        emit AgentRegistry.Registered(2, "", stranger);
        vm.prank(stranger);
        assertEq(registry.register(), 2);
    }

    function test_register_withMetadata() public {
        AgentRegistry.MetadataEntry[] memory metadata = new AgentRegistry.MetadataEntry[](1);
        metadata[0] = AgentRegistry.MetadataEntry("mcp", bytes("stdio:gotong mcp"));
        vm.prank(stranger);
        uint256 id = registry.register("https://agent", metadata);
        assertEq(registry.getMetadata(id, "mcp"), bytes("stdio:gotong mcp"));
    }

    function test_register_refusesTheReservedKey() public {
        AgentRegistry.MetadataEntry[] memory metadata = new AgentRegistry.MetadataEntry[](1);
        metadata[0] = AgentRegistry.MetadataEntry("agentWallet", abi.encodePacked(stranger));
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.ReservedMetadataKey.selector, "agentWallet"));
        vm.prank(stranger);
        registry.register("https://agent", metadata);
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.ReservedMetadataKey.selector, "agentWallet"));
        vm.prank(owner);
        registry.setMetadata(agentId, "agentWallet", abi.encodePacked(stranger));
    }

    function test_setMetadata_storesTheValueAndEmitsMetadataSet() public {
        vm.expectEmit(address(registry));
        emit AgentRegistry.MetadataSet(agentId, "mcp", "mcp", bytes("https://p.example/mcp"));
        vm.prank(owner);
        registry.setMetadata(agentId, "mcp", bytes("https://p.example/mcp"));
        assertEq(registry.getMetadata(agentId, "mcp"), bytes("https://p.example/mcp"));

        // A new value replaces the old; other keys and the wallet are untouched.
        vm.prank(owner);
        registry.setMetadata(agentId, "mcp", bytes("stdio:gotong mcp"));
        assertEq(registry.getMetadata(agentId, "mcp"), bytes("stdio:gotong mcp"));
        assertEq(registry.getMetadata(agentId, "other").length, 0);
        assertEq(registry.getMetadata(agentId, "agentWallet"), abi.encodePacked(owner));

        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.NotAgentOwner.selector, agentId, stranger));
        vm.prank(stranger);
        registry.setMetadata(agentId, "mcp", bytes("mine"));
        assertEq(registry.getMetadata(agentId, "mcp"), bytes("stdio:gotong mcp"));
    }

    function test_setAgentURI_onlyByTheOwner() public {
        vm.expectEmit(address(registry));
        emit AgentRegistry.URIUpdated(agentId, "ipfs://v2", owner);
        vm.prank(owner);
        registry.setAgentURI(agentId, "ipfs://v2");
        assertEq(registry.tokenURI(agentId), "ipfs://v2");
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.NotAgentOwner.selector, agentId, stranger));
        vm.prank(stranger);
        registry.setAgentURI(agentId, "ipfs://evil");
    }

    function test_setAgentWallet_withAnAgentWalletThroughERC1271() public {
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = _walletSignature(agentKey, address(wallet), deadline);
        vm.expectEmit(address(registry));
        emit AgentRegistry.MetadataSet(agentId, "agentWallet", "agentWallet", abi.encodePacked(address(wallet)));
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(wallet), deadline, signature);
        assertEq(registry.getAgentWallet(agentId), address(wallet));
    }

    function test_setAgentWallet_withAnAccountThroughECDSA() public {
        (address account, uint256 key) = makeAddrAndKey("payout");
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = _walletSignature(key, account, deadline);
        vm.prank(owner);
        registry.setAgentWallet(agentId, account, deadline, signature);
        assertEq(registry.getAgentWallet(agentId), account);
    }

    function test_setAgentWallet_refusesAnotherKeysSignature() public {
        (, uint256 strangerKey) = makeAddrAndKey("stranger");
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = _walletSignature(strangerKey, address(wallet), deadline);
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.InvalidWalletSignature.selector, address(wallet)));
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(wallet), deadline, signature);
    }

    function test_setAgentWallet_refusesARevokedAgentKey() public {
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = _walletSignature(agentKey, address(wallet), deadline);
        vm.prank(owner);
        wallet.revoke();
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.InvalidWalletSignature.selector, address(wallet)));
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(wallet), deadline, signature);
    }

    function test_setAgentWallet_refusesExpiredAndFarDeadlines() public {
        uint256 past = block.timestamp - 1;
        bytes memory signature = _walletSignature(agentKey, address(wallet), past);
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.SignatureExpired.selector, past, block.timestamp));
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(wallet), past, signature);

        uint256 far = block.timestamp + 6 minutes;
        signature = _walletSignature(agentKey, address(wallet), far);
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.DeadlineTooFar.selector, far, block.timestamp + 5 minutes));
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(wallet), far, signature);
    }

    function test_setAgentWallet_refusesAStrangerAndZero() public {
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = _walletSignature(agentKey, address(wallet), deadline);
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.NotAgentOwner.selector, agentId, stranger));
        vm.prank(stranger);
        registry.setAgentWallet(agentId, address(wallet), deadline, signature);
        vm.expectRevert(AgentRegistry.ZeroWallet.selector);
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(0), deadline, signature);
    }

    function test_setAgentWallet_signatureIsBoundToTheAgentId() public {
        vm.prank(stranger);
        uint256 other = registry.register("ipfs://other");
        uint256 deadline = block.timestamp + 60;
        // A signature for agent 1 cannot bind the wallet to agent 2.
        bytes memory signature = _walletSignature(agentKey, address(wallet), deadline);
        vm.expectRevert(abi.encodeWithSelector(AgentRegistry.InvalidWalletSignature.selector, address(wallet)));
        vm.prank(stranger);
        registry.setAgentWallet(other, address(wallet), deadline, signature);
    }

    function test_transfer_clearsTheWallet() public {
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = _walletSignature(agentKey, address(wallet), deadline);
        vm.startPrank(owner);
        registry.setAgentWallet(agentId, address(wallet), deadline, signature);
        registry.transferFrom(owner, stranger, agentId);
        vm.stopPrank();
        assertEq(registry.getAgentWallet(agentId), address(0));
        assertEq(registry.getMetadata(agentId, "agentWallet").length, 0);
    }

    function test_unsetAgentWallet() public {
        vm.prank(owner);
        registry.unsetAgentWallet(agentId);
        assertEq(registry.getAgentWallet(agentId), address(0));
    }

    function test_isAuthorizedOrOwner_isTheOwnerOrAnApprovedOperator() public {
        assertTrue(registry.isAuthorizedOrOwner(owner, agentId));
        assertFalse(registry.isAuthorizedOrOwner(stranger, agentId));
        vm.prank(owner);
        registry.approve(stranger, agentId);
        assertTrue(registry.isAuthorizedOrOwner(stranger, agentId));
        address operator = makeAddr("operator");
        vm.prank(owner);
        registry.setApprovalForAll(operator, true);
        assertTrue(registry.isAuthorizedOrOwner(operator, agentId));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        registry.isAuthorizedOrOwner(owner, 99);
    }

    function test_getAgentWallet_revertsForAnUnknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        registry.getAgentWallet(99);
        assertFalse(registry.exists(99));
    }
}
