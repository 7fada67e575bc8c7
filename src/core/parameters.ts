/**
 * Request and tensor parameters: the protocol-neutral `parameters` map of an inference request
 * (OIP's `parameters` object, gRPC's `InferParameter` map). Defined here, below every layer that
 * reads them (sequence batching reads the sequence controls from it, serving passes it through).
 */
export type ParameterValue = string | number | boolean | bigint;
export type Parameters = Readonly<Record<string, ParameterValue>>;
