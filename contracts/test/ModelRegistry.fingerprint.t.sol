// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LineageFixture} from "./utils/LineageFixture.sol";
import {Vm} from "./utils/Vm.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

/// @notice ModelRegistry's fingerprint overloads of `register` and `registerDerivative`: the
///         fingerprint is declared by the registering call, for the id it issues, and nowhere else.
contract ModelRegistryFingerprintTest is LineageFixture {
    event log_named_uint(string key, uint256 val);

    bytes32 internal constant FINGERPRINT = keccak256("llama, 291 tensors, 32000-token vocabulary");
    bytes32 internal constant WEIGHTS = keccak256("fingerprinted weights");
    bytes32 internal constant MANIFEST = keccak256("manifest");
    /// @dev What one registration may add for its fingerprint: an event with two indexed topics
    ///      and no data, and the overload's extra word of calldata.
    uint256 internal constant FINGERPRINT_GAS_BUDGET = 2_500;

    uint256 private _nonce;

    function _fresh() internal returns (bytes32) {
        return keccak256(abi.encode("fingerprint test weights", ++_nonce));
    }

    function _registerWith(address owner, bytes32 fingerprint) internal returns (uint256 id) {
        vm.prank(owner);
        id = models.register("tiny", _fresh(), keccak256("manifest"), "gotong:manifest", 1000, fingerprint);
    }

    /// @dev The `ModelFingerprinted` logs among `logs`.
    function _fingerprintLogs(Vm.Log[] memory logs) internal view returns (Vm.Log[] memory out) {
        uint256 n;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(models) && logs[i].topics[0] == ModelRegistry.ModelFingerprinted.selector) {
                ++n;
            }
        }
        out = new Vm.Log[](n);
        n = 0;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(models) && logs[i].topics[0] == ModelRegistry.ModelFingerprinted.selector) {
                out[n++] = logs[i];
            }
        }
    }

    // ---------------------------------------------------------------- register

    function test_register_withFingerprint_emitsItForTheNewIdAfterModelRegistered() public {
        uint256 expectedId = models.modelCount() + 1;
        vm.expectEmit(address(models));
        emit ModelRegistry.ModelRegistered(expectedId, creator, WEIGHTS, MANIFEST, 1000, "tiny", "gotong:manifest");
        vm.expectEmit(address(models));
        emit ModelRegistry.ModelFingerprinted(expectedId, FINGERPRINT);
        vm.prank(creator);
        uint256 id = models.register("tiny", WEIGHTS, MANIFEST, "gotong:manifest", 1000, FINGERPRINT);
        assertEq(id, expectedId);
    }

    function test_register_withFingerprint_logsExactlyTheIdAndHashAsTopics() public {
        vm.recordLogs();
        uint256 id = _registerWith(creator, FINGERPRINT);
        Vm.Log[] memory logs = _fingerprintLogs(vm.getRecordedLogs());
        assertEq(logs.length, 1, "one fingerprint event");
        assertEq(logs[0].topics.length, 3, "signature, modelId, fingerprint");
        assertEq(logs[0].topics[1], bytes32(id), "modelId topic");
        assertEq(logs[0].topics[2], FINGERPRINT, "fingerprint topic");
        assertEq(logs[0].data.length, 0, "no data: both fields are indexed");
    }

    function test_register_withFingerprint_registersAsWithout() public {
        vm.prank(creator);
        uint256 id = models.register("tiny", WEIGHTS, MANIFEST, "gotong:manifest", 700, FINGERPRINT);
        ModelRegistry.Model memory model = models.getModel(id);
        assertEq(model.weightsHash, WEIGHTS);
        assertEq(model.manifestHash, MANIFEST);
        assertEq(uint256(model.royaltyBps), 700);
        assertEq(model.name, "tiny");
        assertEq(models.ownerOf(id), creator);
        assertEq(models.modelIdOfWeights(WEIGHTS), id);
    }

    function test_register_withoutFingerprint_emitsNone() public {
        vm.recordLogs();
        vm.prank(creator);
        models.register("tiny", _fresh(), MANIFEST, "gotong:manifest", 1000);
        assertEq(_fingerprintLogs(vm.getRecordedLogs()).length, 0);
    }

    function test_register_revertsWhenFingerprintEmpty() public {
        uint256 count = models.modelCount();
        vm.expectRevert(ModelRegistry.EmptyFingerprint.selector);
        _registerWith(creator, bytes32(0));
        assertEq(models.modelCount(), count, "nothing registered");
    }

    function test_register_withFingerprint_keepsTheRefusalsOfRegister() public {
        vm.prank(creator);
        uint256 first = models.register("tiny", WEIGHTS, MANIFEST, "gotong:manifest", 1000);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelAlreadyRegistered.selector, WEIGHTS, first));
        models.register("copy", WEIGHTS, MANIFEST, "gotong:manifest", 1000, FINGERPRINT);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.RoyaltyTooHigh.selector, uint16(5001), uint16(5000)));
        models.register("greedy", _fresh(), MANIFEST, "gotong:manifest", 5001, FINGERPRINT);
    }

    function testFuzz_register_withFingerprint_emitsAnyNonZeroHash(bytes32 fingerprint) public {
        vm.assume(fingerprint != bytes32(0));
        vm.recordLogs();
        uint256 id = _registerWith(creator, fingerprint);
        Vm.Log[] memory logs = _fingerprintLogs(vm.getRecordedLogs());
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[1], bytes32(id));
        assertEq(logs[0].topics[2], fingerprint);
    }

    // ---------------------------------------------------------------- who may declare

    function test_declare_strangerCannotDeclareForSomeoneElsesModel() public {
        uint256 original = _registerWith(creator, FINGERPRINT);
        // There is no function that takes an existing model's id and a fingerprint: the registry
        // has no fallback, so any such call reverts, whoever sends it (the owner included).
        vm.prank(stranger);
        (bool ok,) = address(models)
            .call(abi.encodeWithSignature("declareFingerprint(uint256,bytes32)", original, keccak256("other")));
        assertFalse(ok, "no declareFingerprint");
        vm.prank(creator);
        (ok,) =
            address(models).call(abi.encodeWithSignature("declareFingerprint(uint256,bytes32)", modelId, FINGERPRINT));
        assertFalse(ok, "not even the owner, for a model registered without one");
    }

    function test_register_strangerDeclaringTheSameFingerprintGetsOnlyItsOwnNewerId() public {
        uint256 original = _registerWith(creator, FINGERPRINT);
        vm.recordLogs();
        uint256 copy = _registerWith(stranger, FINGERPRINT);
        Vm.Log[] memory logs = _fingerprintLogs(vm.getRecordedLogs());
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[1], bytes32(copy), "the stranger's own id");
        assertGt(copy, original, "the copy is younger: readers pick the lowest id, the original");
        assertEq(models.ownerOf(original), creator, "the original is untouched");
    }

    function test_register_transferredTokenDoesNotLetTheBuyerDeclareAgain() public {
        address buyer = makeAddr("buyer");
        uint256 id = _registerWith(creator, FINGERPRINT);
        vm.prank(creator);
        models.transferFrom(creator, buyer, id);
        vm.prank(buyer);
        (bool ok,) =
            address(models).call(abi.encodeWithSignature("declareFingerprint(uint256,bytes32)", id, keccak256("other")));
        assertFalse(ok);
    }

    // ---------------------------------------------------------------- registerDerivative

    function test_registerDerivative_withFingerprint_recordsLineageAndEmits() public {
        uint256 expectedId = models.modelCount() + 1;
        vm.expectEmit(address(models));
        emit ModelRegistry.ModelDerived(expectedId, modelId, QUANTISATION, 2000);
        vm.expectEmit(address(models));
        emit ModelRegistry.ModelFingerprinted(expectedId, FINGERPRINT);
        vm.prank(creator);
        uint256 id = models.registerDerivative(
            "tiny-q8",
            _fresh(),
            MANIFEST,
            "gotong:manifest",
            1000,
            _parents(modelId, QUANTISATION, 2000),
            _noData(),
            FINGERPRINT
        );
        assertEq(id, expectedId);
        assertEq(uint256(models.depthOf(id)), 1);
        assertTrue(models.hasRoyaltyStack(id));
        ModelRegistry.Parent[] memory parents = models.parentsOf(id);
        assertEq(parents.length, 1);
        assertEq(parents[0].modelId, modelId);
    }

    function test_registerDerivative_withFingerprint_keepsLineageRefusals() public {
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ParentNotFound.selector, uint256(999)));
        models.registerDerivative(
            "tiny-q8",
            _fresh(),
            MANIFEST,
            "gotong:manifest",
            1000,
            _parents(999, QUANTISATION, 2000),
            _noData(),
            FINGERPRINT
        );
        vm.prank(creator);
        vm.expectRevert(ModelRegistry.EmptyFingerprint.selector);
        models.registerDerivative(
            "tiny-q8",
            _fresh(),
            MANIFEST,
            "gotong:manifest",
            1000,
            _parents(modelId, QUANTISATION, 2000),
            _noData(),
            bytes32(0)
        );
    }

    // ---------------------------------------------------------------- encoding

    /// @dev The client's `hashModelFingerprint` is `abi.encode` of the tag and the three fields
    ///      matched, so any contract or client can compute it; this pins the vector its test pins.
    function test_fingerprintEncoding_matchesTheClientsVector() public pure {
        bytes32 tensors = 0xdddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd;
        bytes32 vocabulary = 0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee;
        assertEq(
            keccak256(abi.encode("gotong.model-fingerprint/1", "llama", tensors, vocabulary)),
            0x1e96637e75fb13aff3ee1523f1959bdd2bbefb406f194fbe55c7e95b56422d6c
        );
        assertEq(
            keccak256(abi.encode("gotong.model-fingerprint/1", "llama", tensors, bytes32(0))),
            0x30b74ac79b2603476c6cda0e75bf1a5816c8a77f5addd2a731ad296de1e09a84,
            "no vocabulary: a zero word"
        );
    }

    // ---------------------------------------------------------------- gas

    function test_register_gasOfTheFingerprintIsOneSmallEvent() public {
        _registerWith(creator, FINGERPRINT); // warm the count and the creator's balance for both
        bytes32 a = _fresh();
        bytes32 b = _fresh();
        vm.prank(creator);
        uint256 without = gasleft();
        models.register("tiny", a, MANIFEST, "gotong:manifest", 1000);
        without -= gasleft();
        vm.prank(creator);
        uint256 with = gasleft();
        models.register("tiny", b, MANIFEST, "gotong:manifest", 1000, FINGERPRINT);
        with -= gasleft();
        // In a transaction the overload also sends one more word of calldata: 16 gas a non-zero byte.
        uint256 extra = with - without + 32 * 16;
        emit log_named_uint("register execution gas, without a fingerprint", without);
        emit log_named_uint("register execution gas, with a fingerprint", with);
        emit log_named_uint("what the fingerprint adds to a registration (with its calldata)", extra);
        assertLe(extra, FINGERPRINT_GAS_BUDGET, "a fingerprint costs an event, not a storage slot");
    }
}
