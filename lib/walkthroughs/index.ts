/**
 * Every walkthrough the CLI can summarise, train, evaluate and benchmark. Importing this module
 * registers them (each model issue adds one import line here).
 */
export * from './registry';
